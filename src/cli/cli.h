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

#include "wasmind.h"

/* "wasmind: error: <wm_error_format(err)>" on stderr. */
void cli_print_error(const wm_error *err);
/* "wasmind: error: <message>" then "Try 'wasmind[ CMD] --help'." on
 * stderr; returns 2 (usage error). cmd may be NULL. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

int cli_llm(int argc, char **argv);
int cli_convert(int argc, char **argv);
int cli_quantize(int argc, char **argv);
int cli_serve(int argc, char **argv);

#endif
