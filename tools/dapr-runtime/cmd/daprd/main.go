// Command daprd runs the Dapr sidecar of the version pinned in ../../go.mod.
package main

import (
	hamba "github.com/hamba/avro/v2"

	"github.com/dapr/dapr/cmd/daprd/app"
)

// Same Avro decode caps daprd sets for pulsar, applied to the library that
// upstream pulsar-client-go uses (see ../../avroshim).
func init() {
	hamba.DefaultConfig = hamba.Config{MaxSliceAllocSize: 10_000}.Freeze()
}

func main() { app.Run() }
