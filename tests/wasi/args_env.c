/* args_env.c — argv, environ and exit status as the guest sees them:
 * prints each argument and each environment string on its own line, then
 * exits with the status given as argv[1] (0 when absent). */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++) printf("arg[%d]=%s\n", i, argv[i]);
    for (char **e = environ; e && *e; e++) printf("env %s\n", *e);
    return argc > 1 ? atoi(argv[1]) : 0;
}
