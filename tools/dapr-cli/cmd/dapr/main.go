// Command dapr is the Dapr CLI at the version pinned in ../../go.mod.
package main

import "github.com/dapr/cli/cmd"

// Set with -ldflags "-X main.version=…" by scripts/install-dapr.sh.
var version = "1.12.0"

func main() { cmd.Execute(version, "1.0") }
