// Command pulumi-language-nodejs is sshremedy's own, deliberately small Pulumi
// language host for Node.js/TypeScript programs.
//
// Why it exists: the Pulumi CLI only talks to programs through a language host
// plugin, and the official Node.js host is not obtainable in our build
// environment. The Node side of the contract (the "harness") ships inside the
// @pulumi/pulumi npm package (cmd/run, cmd/run-policy-pack, cmd/run-plugin), so
// all this host has to do is answer the engine's gRPC calls and start node on
// the right harness with the right arguments and environment.
//
// Contract with the engine (see sdk/go/common/resource/plugin/plugin.go and
// langruntime_plugin.go in the Pulumi SDK):
//   - it is started as: pulumi-language-nodejs [--logtostderr] [-v=N]
//     [--tracing URL] <engine-address>
//   - it must print the TCP port of its gRPC server as the first stdout line;
//     everything it (or node) writes afterwards is shown to the user.
//   - it is stopped by a signal when the engine is done with it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// hostVersion is reported by GetPluginInfo. It matches the CLI we build so the
// engine records a sensible language plugin version in the stack.
const hostVersion = "3.274.1"

func main() {
	// The engine forwards its own logging flags to plugins (buildPluginArguments
	// in plugin.go), so we must accept them or flag parsing would fail. We use
	// our own FlagSet: a dependency already registers -v and -logtostderr on the
	// global one.
	flags := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	tracing := flags.String("tracing", "", "Zipkin-compatible tracing endpoint, passed on to node")
	verbose := flags.Int("v", 0, "log verbosity")
	logToStderr := flags.Bool("logtostderr", false, "log to stderr instead of a file")
	logFlow := flags.Bool("logflow", false, "flow logging settings to child processes")
	_ = flags.Parse(os.Args[1:]) // ExitOnError: exits on a bad flag
	logging.InitLogging(*logToStderr, *verbose, *logFlow)

	// The engine address is the last positional argument. It can be absent
	// when the host is started by hand for debugging (PULUMI_DEBUG_LANGUAGES);
	// Handshake then supplies it.
	engineAddress := ""
	if flags.NArg() > 0 {
		engineAddress = flags.Arg(flags.NArg() - 1)
	}

	host := newHost(engineAddress, *tracing)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "fatal: could not start language host RPC server: %v\n", err)
		os.Exit(1)
	}

	// The single line the engine waits for before dialling us.
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "fatal: language host RPC server stopped: %v\n", err)
		os.Exit(1)
	}
}
