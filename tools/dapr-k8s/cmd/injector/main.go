// Command injector runs Dapr's sidecar injector (a mutating admission webhook)
// of the version pinned in ../../go.mod.
package main

import "github.com/dapr/dapr/cmd/injector/app"

func main() { app.Run() }
