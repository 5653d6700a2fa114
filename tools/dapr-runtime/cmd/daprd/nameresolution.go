package main

import (
	"github.com/dapr/components-contrib/nameresolution/sqlite"
	nrLoader "github.com/dapr/dapr/pkg/components/nameresolution"
)

// The stable build leaves out the SQLite name resolver. Local stacks use it
// instead of mDNS, which answers across every stack on the machine: a test
// stack's sidecar would otherwise reach `make run`'s app of the same app id.
func init() {
	nrLoader.DefaultRegistry.RegisterComponent(sqlite.NewResolver, "sqlite")
}
