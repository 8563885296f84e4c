/*
 * api.c — calling functions from the host (wm_func_call), the one trap
 * catch point every entry into Wasm code goes through (rt_call), and the
 * accessors host functions use on their wm_call.
 */
#include <stdio.h>
#include <stdlib.h>

#include "store.h"

/* ==== The catch point =================================================== */

/*
 * Run interp_call(f) with a guard-page catch point. The interpreter does
 * no bounds checks in guard-page mode, so an out-of-bounds access faults;
 * memory.c's handler siglongjmps here (only for faults inside this
 * runtime's memory reservations), and interp_recover_fault turns the live
 * frames into a backtrace and unwinds the execution context to the depth
 * it had on entry. Catch points nest: a host function that calls back into
 * Wasm gets its own, and the outer one is restored on the way out.
 *
 * sigsetjmp(jb, 0) does not save the signal mask (no syscall per call);
 * the handler is installed with SA_NODEFER, so the mask needs no restoring.
 * Nothing modified between sigsetjmp and a siglongjmp is read afterwards
 * except `st`, which each branch assigns.
 */
wm_status rt_call(wm_runtime *rt, wm_func *f, uint64_t *slots,
                  wm_error *err) {
    sigjmp_buf jb;
    mem_catch c;
    const uint32_t depth = interp_depth(rt);
    wm_status st;
    mem_catch_enter(rt, &jb, &c);
    if (sigsetjmp(jb, 0) == 0) {
        st = interp_call(rt, f, slots, err);
    } else {
        interp_recover_fault(rt, depth, err);
        if (err->code != WM_TRAP_OOB_MEMORY)
            wm_errf(err, WM_TRAP_OOB_MEMORY, "out of bounds memory access");
        st = WM_TRAP_OOB_MEMORY;
    }
    mem_catch_leave(rt, &c);
    return st;
}

/* ==== wm_func_call ====================================================== */

/* Slots kept on the C stack for calls with few values (the common case:
 * no malloc per call). */
#define API_INLINE_SLOTS 16

wm_status wm_func_call(wm_func *f, const wm_value *args, size_t n_args,
                       wm_value *results, size_t n_results, wm_error *err) {
    wm_error local;
    if (!err) err = &local;
    wm_error_clear(err);
    if (!f) return wm_errf(err, WM_ERR_ARG, "invalid argument: no function");
    const mod_functype *t = f->type;
    if (n_args != t->n_params || n_results != t->n_results)
        return wm_errf(err, WM_ERR_ARG, "invalid argument: function takes "
                       "%u arguments and returns %u results, called with "
                       "%zu and %zu", t->n_params, t->n_results, n_args,
                       n_results);
    if ((n_args && !args) || (n_results && !results))
        return wm_errf(err, WM_ERR_ARG, "invalid argument: null array");
    for (size_t i = 0; i < n_args; i++)
        if ((int)args[i].type != t->params[i])
            return wm_errf(err, WM_ERR_ARG, "invalid argument: argument %zu "
                           "is %s, expected %s", i,
                           wm_valtype_str((wm_valtype)args[i].type),
                           wm_valtype_str((wm_valtype)t->params[i]));
    uint64_t inline_slots[API_INLINE_SLOTS];
    uint64_t *slots = inline_slots;
    size_t n = n_args > n_results ? n_args : n_results;
    if (n > API_INLINE_SLOTS) {
        slots = malloc(n * sizeof *slots);
        if (!slots) return wm_errf(err, WM_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_args; i++) slots[i] = rt_value_to_slot(&args[i]);
    wm_status st = rt_call(rt_func_runtime(f), f, slots, err);
    if (st == WM_OK) {
        for (size_t i = 0; i < n_results; i++)
            results[i] = rt_slot_to_value(t->results[i], slots[i]);
    } else {
        if (err->code == WM_OK) err->code = st;
        if (!err->where[0] && f->inst) rt_set_where(err, f->inst->mod->name);
    }
    if (slots != inline_slots) free(slots);
    return st;
}

/* ==== Host-call context ================================================= */

wm_instance *wm_call_instance(wm_call *call) {
    return call ? call->inst : NULL;
}

wm_memory *wm_call_memory(wm_call *call) {
    return call && call->inst ? call->inst->mem0 : NULL;
}

void *wm_call_userdata(wm_call *call) {
    return call && call->func ? call->func->host_ud : NULL;
}

wm_status wm_call_exit(wm_call *call, int status) {
    if (call) call->exit_code = status;
    return WM_EXIT;
}

wm_status wm_call_trap(wm_call *call, const char *msg) {
    if (call) snprintf(call->trap_msg, sizeof call->trap_msg, "%s",
                       msg ? msg : "");
    return WM_TRAP_HOST;
}
