// Command sentry runs Dapr's certificate authority of the version pinned in
// ../../go.mod; the injector gets its serving certificate from it.
package main

import "github.com/dapr/dapr/cmd/sentry/app"

func main() { app.Run() }
