package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// exitCodeAlreadyReported is the exit code the Node harness uses after it has
// already shown the error to the user through the engine (see
// nodeJSProcessExitedAfterLoggingUserActionableMessage in @pulumi/pulumi's
// cmd/run). We answer it with Bail so the engine fails without repeating it.
const exitCodeAlreadyReported = 32

// host implements pulumirpc.LanguageRuntimeServer. Every method we do not
// need answers Unimplemented via the embedded struct; the engine treats that
// as "not supported" for the optional calls (Cancel, Template, prompts, ...).
type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string // where node sends logs (the engine's gRPC server)
	tracing       string // tracing endpoint, forwarded to node when set
}

func newHost(engineAddress, tracing string) *host {
	return &host{engineAddress: engineAddress, tracing: tracing}
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

// Handshake is only sent when the engine attaches to an already running host;
// it is the only way we learn the engine address in that case.
func (h *host) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.mu.Lock()
		h.engineAddress = req.GetEngineAddress()
		h.mu.Unlock()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: hostVersion}, nil
}

// GetRequiredPlugins and GetRequiredPackages deliberately report nothing.
//
// Whatever is listed here the engine insists on having installed before the
// program starts, and tries to download when it is missing. Scanning
// node_modules (as the official host does) would list every provider package
// that happens to be installed, used or not, and so ask for downloads we cannot
// make. With an empty list the engine loads each provider lazily, when the
// program first registers one of its resources, from PATH or the plugin cache.
func (h *host) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// InstallDependencies is a no-op: the project's node_modules are installed by
// the project's own scripts (npm ci), never by the engine.
func (h *host) InstallDependencies(
	*pulumirpc.InstallDependenciesRequest, grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	return nil
}

// About reports which node runs the programs (shown by `pulumi about`).
func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "could not find node on $PATH: %v", err)
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%s --version failed: %v", node, err)
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

// GetProgramDependencies lists the packages of the program's package.json with
// the versions actually installed in node_modules (used by `pulumi about`).
func (h *host) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	manifest := findUp(programDirectory(req.GetInfo(), ""), "package.json")
	if manifest == "" {
		return &pulumirpc.GetProgramDependenciesResponse{}, nil
	}
	var pkg struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := readJSON(manifest, &pkg); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "reading %s: %v", manifest, err)
	}
	nodeModules := filepath.Join(filepath.Dir(manifest), "node_modules")

	declared := map[string]string{}
	for name, version := range pkg.DevDependencies {
		declared[name] = version
	}
	for name, version := range pkg.Dependencies {
		declared[name] = version
	}
	if req.GetTransitiveDependencies() {
		for _, name := range installedPackages(nodeModules) {
			if _, ok := declared[name]; !ok {
				declared[name] = ""
			}
		}
	}

	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for name, version := range declared {
		var installed struct {
			Version string `json:"version"`
		}
		if readJSON(filepath.Join(nodeModules, name, "package.json"), &installed) == nil && installed.Version != "" {
			version = installed.Version
		}
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: name, Version: version})
	}
	sort.Slice(resp.Dependencies, func(i, j int) bool { return resp.Dependencies[i].Name < resp.Dependencies[j].Name })
	return resp, nil
}

// Run executes the Pulumi program: node @pulumi/pulumi/cmd/run <flags> <entry>.
//
// The harness takes its settings as minimist flags (which must come before the
// program, it stops parsing at the first positional) plus config in
// PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS. node's stdout and stderr go
// straight to ours, which the engine already shows to the user.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	dir := programDirectory(req.GetInfo(), req.GetPwd())
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = req.GetProgram() //nolint:staticcheck // older engines only set this field
	}
	if entry == "" {
		entry = "." // the harness then uses package.json "main", or index.*
	}
	opts := runtimeOptions(req.GetInfo())

	harness, err := findHarness(dir, "run")
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on $PATH: " + err.Error()}, nil
	}

	args := append([]string{}, opts.nodeArgs...)
	args = append(args, harness,
		"--monitor="+req.GetMonitorAddress(),
		"--engine="+h.engine(),
		"--project="+req.GetProject(),
		"--stack="+req.GetStack(),
		"--pwd="+dir,
	)
	if root := req.GetInfo().GetRootDirectory(); root != "" {
		args = append(args, "--root-directory="+root)
	}
	if org := req.GetOrganization(); org != "" {
		args = append(args, "--organization="+org)
	}
	if req.GetParallel() != 0 {
		args = append(args, "--parallel="+strconv.Itoa(int(req.GetParallel())))
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if h.tracing != "" {
		args = append(args, "--tracing="+h.tracing)
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	env, err := programEnv(req, opts)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "encoding config: %v", err)
	}

	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	err = cmd.Run()

	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitCodeAlreadyReported:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
		}, nil
	case ctx.Err() != nil:
		return nil, status.FromContextError(ctx.Err()).Err()
	default: // could not start node, or it was killed by a signal
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("running node program: %v", err)}, nil
	}
}

// programEnv is the environment the harness reads besides its flags. The
// PULUMI_NODEJS_* values duplicate the flags on purpose: other copies of
// @pulumi/pulumi loaded by the program read settings from the environment.
func programEnv(req *pulumirpc.RunRequest, opts nodeOptions) ([]string, error) {
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := []string{
		"PULUMI_CONFIG=" + string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS=" + string(secretKeysJSON),
		"PULUMI_NODEJS_PROJECT=" + req.GetProject(),
		"PULUMI_NODEJS_STACK=" + req.GetStack(),
		"PULUMI_NODEJS_ORGANIZATION=" + req.GetOrganization(),
		"PULUMI_NODEJS_DRY_RUN=" + strconv.FormatBool(req.GetDryRun()),
		"PULUMI_NODEJS_MONITOR=" + req.GetMonitorAddress(),
		"PULUMI_NODEJS_TYPESCRIPT=" + strconv.FormatBool(opts.typescript),
	}
	if req.GetParallel() != 0 {
		env = append(env, "PULUMI_NODEJS_PARALLEL="+strconv.Itoa(int(req.GetParallel())))
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	return env, nil
}

// RunPlugin runs a plugin written in Node.js: a policy pack (kind "analyzer",
// via cmd/run-policy-pack) or a PulumiPlugin.yaml provider/tool (via
// cmd/run-plugin). The engine uses this instead of a pulumi-analyzer-policy
// shim whenever a nodejs language host exists. Its output is streamed back; the
// first stdout line is the plugin's own gRPC port, which the engine reads.
func (h *host) RunPlugin(
	req *pulumirpc.RunPluginRequest, stream grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	dir := programDirectory(req.GetInfo(), req.GetProgram()) //nolint:staticcheck // fallback for old engines
	opts := runtimeOptions(req.GetInfo())

	harnessName, cwd := "run-plugin", req.GetPwd()
	if req.GetKind() == "analyzer" {
		// A policy pack is self-contained: run it from its own directory so that
		// its tsconfig.json (not the stack's) applies, as the engine's older
		// pulumi-analyzer-policy path did.
		harnessName, cwd = "run-policy-pack", dir
	}
	harness, err := findHarness(dir, harnessName)
	if err != nil {
		return status.Error(codes.FailedPrecondition, err.Error())
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return status.Errorf(codes.FailedPrecondition, "could not find node on $PATH: %v", err)
	}

	// req.Args is the engine's logging flags followed by its address.
	// run-policy-pack wants "<engine> <program>"; run-plugin wants the program
	// first and hands the remaining arguments to it.
	args := append([]string{}, opts.nodeArgs...)
	args = append(args, harness)
	if harnessName == "run-policy-pack" {
		args = append(append(args, req.GetArgs()...), dir)
	} else {
		args = append(append(args, dir), req.GetArgs()...)
	}

	cmd := exec.CommandContext(stream.Context(), node, args...)
	cmd.Dir = cwd
	if len(req.GetEnv()) > 0 {
		cmd.Env = req.GetEnv() // the engine sends the complete environment
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return status.Errorf(codes.Internal, "starting %s: %v", node, err)
	}

	// gRPC streams are not safe for concurrent Send, so the two pumps share a lock.
	var sendMu sync.Mutex
	send := func(resp *pulumirpc.RunPluginResponse) {
		sendMu.Lock()
		defer sendMu.Unlock()
		_ = stream.Send(resp) // if the engine hung up, the context kills node
	}
	pump := func(r io.Reader, wrap func([]byte) *pulumirpc.RunPluginResponse, wg *sync.WaitGroup) {
		defer wg.Done()
		buf := make([]byte, 32*1024)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				send(wrap(append([]byte(nil), buf[:n]...)))
			}
			if err != nil {
				return
			}
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go pump(stdout, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	}, &wg)
	go pump(stderr, func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}}
	}, &wg)
	wg.Wait() // drain both pipes before Wait closes them

	code := 0
	if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			return err
		}
		code = exitErr.ExitCode()
		if code < 0 { // killed by a signal
			code = 1
		}
	}
	send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
	return nil
}

// nodeOptions are the Pulumi.yaml / PulumiPolicy.yaml "runtime.options" we honour.
type nodeOptions struct {
	typescript bool     // typescript: false turns off ts-node (default on)
	tsconfig   string   // tsconfig: path of the tsconfig file for ts-node
	nodeArgs   []string // nodeargs: extra arguments for node itself
}

func runtimeOptions(info *pulumirpc.ProgramInfo) nodeOptions {
	opts := nodeOptions{typescript: true}
	m := info.GetOptions().AsMap()
	switch v := m["typescript"].(type) {
	case bool:
		opts.typescript = v
	case string:
		opts.typescript = v != "false"
	}
	if v, ok := m["tsconfig"].(string); ok {
		opts.tsconfig = v
	}
	if v, ok := m["nodeargs"].(string); ok {
		opts.nodeArgs = strings.Fields(v)
	}
	return opts
}

// programDirectory is where the program (or plugin) lives, from ProgramInfo
// when the engine sent it, else the given fallback, else our cwd.
func programDirectory(info *pulumirpc.ProgramInfo, fallback string) string {
	if dir := info.GetProgramDirectory(); dir != "" {
		return dir
	}
	if fallback != "" {
		return fallback
	}
	dir, _ := os.Getwd()
	return dir
}

// findHarness finds @pulumi/pulumi/cmd/<name> the way node would resolve it
// from dir: in the nearest node_modules walking up. Using the program's own SDK
// copy matters, it must be the same module instance the program loads.
func findHarness(dir, name string) (string, error) {
	rel := filepath.Join("node_modules", "@pulumi", "pulumi", "cmd", name)
	for d := dir; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, rel)
		if st, err := os.Stat(filepath.Join(candidate, "index.js")); err == nil && !st.IsDir() {
			return candidate, nil
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	return "", fmt.Errorf("could not find @pulumi/pulumi/cmd/%s in any node_modules at or above %s; "+
		"it looks like the Pulumi SDK has not been installed (run npm install)", name, dir)
}

// findUp returns the path of the first file called name in dir or its parents.
func findUp(dir, name string) string {
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// installedPackages lists the top-level packages in a node_modules folder,
// including scoped ones (@scope/name).
func installedPackages(nodeModules string) []string {
	var names []string
	entries, _ := os.ReadDir(nodeModules)
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "."):
		case strings.HasPrefix(name, "@"):
			scoped, _ := os.ReadDir(filepath.Join(nodeModules, name))
			for _, s := range scoped {
				names = append(names, name+"/"+s.Name())
			}
		default:
			names = append(names, name)
		}
	}
	return names
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
