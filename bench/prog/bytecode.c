/*
 * bytecode.c — a small stack-machine interpreter (switch dispatch) running
 * a program that counts primes by trial division and sums a Collatz walk:
 * the indirect-branch-heavy workload of every interpreter.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { PUSH, LOAD, STORE, ADD, SUB, MUL, MOD, LT, JZ, JMP, DUP, DROP,
       INC, HALT, JNZ, DIV2, ODD, EQ };

typedef struct { uint8_t op; int32_t arg; } insn;

static int64_t run(const insn *code, int64_t *vars) {
    int64_t stack[64];
    int sp = 0;
    for (int pc = 0;;) {
        const insn *in = &code[pc++];
        switch (in->op) {
        case PUSH: stack[sp++] = in->arg; break;
        case LOAD: stack[sp++] = vars[in->arg]; break;
        case STORE: vars[in->arg] = stack[--sp]; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
        case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case MOD: sp--; stack[sp - 1] %= stack[sp]; break;
        case DIV2: stack[sp - 1] /= 2; break;
        case ODD: stack[sp - 1] &= 1; break;
        case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case EQ: sp--; stack[sp - 1] = stack[sp - 1] == stack[sp]; break;
        case JZ: if (!stack[--sp]) pc = in->arg; break;
        case JNZ: if (stack[--sp]) pc = in->arg; break;
        case JMP: pc = in->arg; break;
        case DUP: stack[sp] = stack[sp - 1]; sp++; break;
        case DROP: sp--; break;
        case INC: vars[in->arg]++; break;
        case HALT: return vars[0];
        default: return -1;
        }
    }
}

int main(int argc, char **argv) {
    int32_t limit = argc > 1 ? atoi(argv[1]) : 60000;
    /* vars: 0 count, 1 n, 2 d, 3 limit, 4 is_prime, 5 collatz x, 6 steps */
    const insn prog[] = {
        /* 0 */ {PUSH, 2}, {STORE, 1},
        /* 2: outer: n < limit ? */
        {LOAD, 1}, {LOAD, 3}, {LT, 0}, {JZ, 44},
        /* 6 */ {PUSH, 1}, {STORE, 4}, {PUSH, 2}, {STORE, 2},
        /* 10: inner: d*d <= n  <=>  !(n < d*d) */
        {LOAD, 1}, {LOAD, 2}, {LOAD, 2}, {MUL, 0}, {LT, 0}, {JNZ, 26},
        /* 16 */ {LOAD, 1}, {LOAD, 2}, {MOD, 0}, {JNZ, 24},
        /* 20 */ {PUSH, 0}, {STORE, 4}, {JMP, 26}, {HALT, 0},
        /* 24 */ {INC, 2}, {JMP, 10},
        /* 26: after inner */ {LOAD, 4}, {JZ, 42},
        /* 28: prime: count++, collatz walk of n */
        {INC, 0}, {LOAD, 1}, {STORE, 5},
        /* 31: while x != 1 */ {LOAD, 5}, {PUSH, 1}, {EQ, 0}, {JNZ, 42},
        /* 35 */ {LOAD, 5}, {ODD, 0}, {JNZ, 45},
        /* 38: even */ {LOAD, 5}, {DIV2, 0}, {STORE, 5}, {JMP, 49},
        /* 42: next n */ {INC, 1}, {JMP, 2},
        /* 44 */ {HALT, 0},
        /* 45: odd: x = 3x+1 */ {LOAD, 5}, {PUSH, 3}, {MUL, 0}, {JMP, 51},
        /* 49: steps++ */ {INC, 6}, {JMP, 31},
        /* 51 */ {PUSH, 1}, {ADD, 0}, {STORE, 5}, {JMP, 49},
    };
    int64_t total = 0, steps = 0;
    for (int rep = 0; rep < 10; rep++) {
        int64_t vars[8] = {0, 0, 0, limit + rep, 0, 0, 0, 0};
        total += run(prog, vars);
        steps += vars[6];
    }
    printf("primes %lld collatz steps %lld\n", (long long)total,
           (long long)steps);
    return 0;
}
