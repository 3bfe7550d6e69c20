// The build script: `dotnet fsi build.fsx <target> [options]`. Plain F#, no packages.
//
// Targets:
//   build        restore and build the solution (Release)
//   test         build, then run every Expecto test program under tests/ and sum their results
//   pack         build the NuGet packages of src/ into artifacts/packages
//   bench        build the benchmarks (Release) and run them, ours beside the official exporter (docs/benchmarks.md)
//   bench-quick  run every benchmark once, in process (BenchmarkDotNet's Dry job), to check that they all still work
//   bench-alternate  a pair in one process, ours and the official pipeline in alternating slices (`--category
//                span|log|log-exception|end-to-end-grpc|end-to-end-http|encode-spans|encode-logs|
//                encode-logs-without-event-ids|metrics-collect
//                --threads N --rounds R --slice SECONDS`; `--category targets`: every pair issue #8's targets
//                are judged by, then a table of them against the targets; `--isolated`: an end-to-end pair
//                alternated between processes; docs/benchmarks.md)
//   help         this text
//
// `test` prints one closing line `N passed, N failed` over all programs and exits non-zero on any failure.
// Options after the target are passed to every test program (for example `--filter-test-list Codec`).
// Options after `bench` go to BenchmarkDotNet (for example `--filter *Encode*` or `--job short`); without a
// `--filter` every benchmark runs. `bench --quick` is `bench-quick`. Both exit non-zero when a benchmark fails.
// Results go to bench/Otlp.Benchmarks/BenchmarkDotNet.Artifacts/results.

open System
open System.Diagnostics
open System.IO
open System.Text.RegularExpressions

let root = __SOURCE_DIRECTORY__
let configuration = "Release"

let run (fileName: string) (args: string list) (onLine: string -> unit) =
    let info = ProcessStartInfo(fileName, args, WorkingDirectory = root)
    info.RedirectStandardOutput <- true
    info.RedirectStandardError <- true
    info.UseShellExecute <- false
    info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] <- "1"
    info.Environment["DOTNET_NOLOGO"] <- "1"
    info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] <- "1"
    use proc = new Process(StartInfo = info)
    let gate = obj ()
    let handle (line: string) =
        if not (isNull line) then
            lock gate (fun () ->
                Console.WriteLine line
                onLine line)
    proc.OutputDataReceived.Add(fun e -> handle e.Data)
    proc.ErrorDataReceived.Add(fun e -> handle e.Data)
    proc.Start() |> ignore
    proc.BeginOutputReadLine()
    proc.BeginErrorReadLine()
    proc.WaitForExit()
    proc.ExitCode

let step name (action: unit -> int) =
    Console.WriteLine($"==> {name}")
    let watch = Stopwatch.StartNew()
    let code = action ()
    Console.WriteLine($"<== {name}: exit {code} in {watch.Elapsed.TotalSeconds:F1}s")
    code

let dotnet args = run "dotnet" args ignore

let build () =
    step "build" (fun () -> dotnet [ "build"; Path.Combine(root, "Otlp.sln"); "-c"; configuration; "-nologo"; "-clp:ErrorsOnly" ])

/// Every test program: an executable project under tests/ whose name ends in `.Tests`.
let testPrograms () =
    Directory.GetFiles(Path.Combine(root, "tests"), "*.Tests.*proj", SearchOption.AllDirectories)
    |> Array.sort
    |> List.ofArray

let expectoSummary =
    Regex(@"(\d+) passed, (\d+) ignored, (\d+) failed, (\d+) errored", RegexOptions.Compiled)

let ansiEscape = Regex(@"\x1b\[[0-9;]*m", RegexOptions.Compiled)

let test (extraArgs: string list) =
    match build () with
    | 0 ->
        let mutable passed = 0
        let mutable failed = 0
        let mutable worst = 0

        for project in testPrograms () do
            let name = Path.GetFileNameWithoutExtension project
            let dll = Path.Combine(Path.GetDirectoryName project, "bin", configuration, "net10.0", name + ".dll")
            let mutable summarized = false

            let onLine (line: string) =
                let m = expectoSummary.Match(ansiEscape.Replace(line, ""))
                if m.Success then
                    summarized <- true
                    passed <- passed + int m.Groups[1].Value
                    failed <- failed + int m.Groups[3].Value + int m.Groups[4].Value

            let code =
                step $"test {name}" (fun () ->
                    run "dotnet" ([ dll; "--no-spinner"; "--colours"; "0"; "--fail-on-focused-tests" ] @ extraArgs) onLine)

            if not summarized then
                // A program that crashed before its summary counts as one failure, so it can never pass silently.
                Console.WriteLine($"{name} printed no Expecto summary")
                failed <- failed + 1

            if code <> 0 then worst <- code

        Console.WriteLine($"{passed} passed, {failed} failed")
        if worst <> 0 || failed > 0 then 1 else 0
    | code -> code

let pack () =
    match build () with
    | 0 ->
        let output = Path.Combine(root, "artifacts", "packages")
        [ "src/Core/Core.fsproj"; "src/CSharp/CSharp.csproj"; "src/Testing/Testing.fsproj" ]
        |> List.fold
            (fun code project ->
                if code <> 0 then code
                else step $"pack {project}" (fun () -> dotnet [ "pack"; project; "-c"; configuration; "--no-build"; "-o"; output; "-nologo" ]))
            0
    | code -> code

let benchProject = Path.Combine(root, "bench", "Otlp.Benchmarks", "Otlp.Benchmarks.csproj")

let benchDll = Path.Combine(root, "bench", "Otlp.Benchmarks", "bin", configuration, "net10.0", "Otlp.Benchmarks.dll")

let buildBench () =
    step "build bench" (fun () -> dotnet [ "build"; benchProject; "-c"; configuration; "-nologo"; "-clp:ErrorsOnly" ])

let bench (extraArgs: string list) =
    let quick = List.contains "--quick" extraArgs
    let bdnArgs = extraArgs |> List.filter (fun a -> a <> "--quick")
    // Without a filter BenchmarkDotNet asks on the console which benchmarks to run.
    let filter = if List.contains "--filter" bdnArgs then [] else [ "--filter"; "*" ]
    // The dry job runs each benchmark once; in process, no project is generated and built per benchmark.
    let mode = if quick then [ "--job"; "Dry"; "--inProcess" ] else []
    let artifacts = [ "--artifacts"; Path.Combine(root, "bench", "Otlp.Benchmarks", "BenchmarkDotNet.Artifacts") ]
    match buildBench () with
    | 0 ->
        match step (if quick then "bench (quick)" else "bench") (fun () -> dotnet ([ benchDll ] @ filter @ mode @ artifacts @ bdnArgs)) with
        // The alternation too, for a moment, one pair of each kind that needs no receiver: that they still run.
        | 0 when quick ->
            [ "span"; "encode-logs"; "metrics-collect" ]
            |> List.fold
                (fun code category ->
                    if code <> 0 then code
                    else
                        step $"bench-alternate (quick, {category})" (fun () ->
                            dotnet [ benchDll; "alternate"; "--category"; category; "--rounds"; "2"; "--slice"; "0.02"; "--warmup"; "0.05" ]))
                0
        | code -> code
    | code -> code

let benchAlternate (extraArgs: string list) =
    match buildBench () with
    | 0 -> step "bench-alternate" (fun () -> dotnet ([ benchDll; "alternate" ] @ extraArgs))
    | code -> code

let usage () =
    File.ReadLines(Path.Combine(root, "build.fsx"))
    |> Seq.takeWhile (fun line -> line.StartsWith "//")
    |> Seq.iter (fun line -> Console.WriteLine(line.TrimStart('/').TrimStart()))
    0

let args = fsi.CommandLineArgs |> Array.skip 1 |> List.ofArray

let exitCode =
    match args with
    | [] | "help" :: _ -> usage ()
    | "build" :: _ -> build ()
    | "test" :: rest -> test rest
    | "pack" :: _ -> pack ()
    | "bench" :: rest -> bench rest
    | "bench-quick" :: rest -> bench ("--quick" :: rest)
    | "bench-alternate" :: rest -> benchAlternate rest
    | target :: _ ->
        eprintfn "Unknown target '%s'." target
        usage () |> ignore
        2

exit exitCode
