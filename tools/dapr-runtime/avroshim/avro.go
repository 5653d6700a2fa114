// Package avro stands in for github.com/iskorotkov/avro/v2, a fork of
// hamba/avro that daprd's pulsar pub/sub registration imports only to set
// allocation caps. The module proxy reachable here refuses that fork (and the
// pulsar-client-go fork built on it), so daprd is built against upstream
// apache/pulsar-client-go, which decodes with hamba/avro. This package keeps
// daprd compiling; cmd/daprd applies the same caps to hamba/avro itself.
// This service never uses pulsar.
package avro

import hamba "github.com/hamba/avro/v2"

// API is the frozen configuration type.
type API = hamba.API

// Config mirrors the fork's fields that daprd sets.
type Config struct {
	MaxSliceAllocSize int
	MaxMapAllocSize   int
}

// Freeze builds the hamba configuration (hamba has no map cap).
func (c Config) Freeze() API {
	return hamba.Config{MaxSliceAllocSize: c.MaxSliceAllocSize}.Freeze()
}

// DefaultConfig is assigned by daprd at init; it does not reach hamba.
var DefaultConfig API = hamba.DefaultConfig
