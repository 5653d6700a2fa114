// Stand-in for github.com/iskorotkov/avro/v2 (see avro.go).
module github.com/iskorotkov/avro/v2

go 1.24

require github.com/hamba/avro/v2 v2.29.0
