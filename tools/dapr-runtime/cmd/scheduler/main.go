// Command scheduler runs the Dapr scheduler of the version pinned in ../../go.mod.
package main

import "github.com/dapr/dapr/cmd/scheduler/app"

func main() { app.Run() }
