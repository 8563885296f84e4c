/*
 * cli.h — the `wasmind` subcommands that live outside main.c. Each takes
 * the arguments after its own name (argv[0] is the first argument) and
 * returns the process exit status: 0 success, 1 error (message printed
 * to stderr), 2 usage error.
 *
 *   wasmind llm generate|bench|synth ...   cmd_llm.c      (src/llm engine)
 *   wasmind convert llama2c ...            cmd_convert.c
 *   wasmind quantize IN OUT TYPE           cmd_quantize.c
 *   wasmind serve MODEL.gguf ...           cmd_serve.c    (API server guest)
 */
#ifndef WM_CLI_H
#define WM_CLI_H

int cli_llm(int argc, char **argv);
int cli_convert(int argc, char **argv);
int cli_quantize(int argc, char **argv);
int cli_serve(int argc, char **argv);

#endif
