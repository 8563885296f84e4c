/*
 * wasi_nn.c — helpers over the raw wasi_ephemeral_nn imports (wasi_nn.h).
 */
#include <stdlib.h>
#include <string.h>

#include "wasi_nn.h"

const char *wnn_strerror(int32_t e) {
    switch (e) {
    case WNN_SUCCESS: return "success";
    case WNN_INVALID_ARGUMENT: return "invalid_argument";
    case WNN_INVALID_ENCODING: return "invalid_encoding";
    case WNN_MISSING_MEMORY: return "missing_memory";
    case WNN_BUSY: return "busy";
    case WNN_RUNTIME_ERROR: return "runtime_error";
    case WNN_UNSUPPORTED_OPERATION: return "unsupported_operation";
    case WNN_TOO_LARGE: return "too_large";
    case WNN_NOT_FOUND: return "not_found";
    case WNN_END_OF_SEQUENCE: return "end_of_sequence";
    case WNN_CONTEXT_FULL: return "context_full";
    case WNN_PROMPT_TOO_LONG: return "prompt_too_long";
    case WNN_MODEL_NOT_FOUND: return "model_not_found";
    }
    return "unknown";
}

int32_t wnn_load_by_name(const char *name, const char *config,
                         wnn_graph *out) {
    size_t cl = config ? strlen(config) : 0;
    return wasi_nn_load_by_name_with_config(name, (uint32_t)strlen(name),
                                            cl ? config : "", (uint32_t)cl,
                                            out);
}

int32_t wnn_set_text(wnn_ctx c, uint32_t index, const char *text,
                     size_t len) {
    uint32_t dims[1] = {(uint32_t)len};
    wnn_tensor t = {dims, 1, WNN_TYPE_U8, text, (uint32_t)len};
    return wasi_nn_set_input(c, index, &t);
}

int32_t wnn_get_output(wnn_ctx c, uint32_t index, bool single, char *buf,
                       size_t cap, size_t *len) {
    uint32_t n = 0;
    int32_t rc = single
        ? wasi_nn_get_output_single(c, index, buf, (uint32_t)cap, &n)
        : wasi_nn_get_output(c, index, buf, (uint32_t)cap, &n);
    *len = rc == WNN_SUCCESS || rc == WNN_TOO_LARGE ? n : 0;
    if (rc == WNN_SUCCESS && n > cap) {
        *len = cap;
        return WNN_TOO_LARGE;
    }
    return rc;
}

long long wnn_meta_int(const char *json, size_t len, const char *key) {
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl + 2 < len; i++) {
        if (json[i] != '"' || memcmp(json + i + 1, key, kl) != 0 ||
            json[i + 1 + kl] != '"')
            continue;
        size_t j = i + kl + 2;
        while (j < len && (json[j] == ' ' || json[j] == ':')) j++;
        long long v = 0;
        bool any = false;
        while (j < len && json[j] >= '0' && json[j] <= '9') {
            v = v * 10 + (json[j++] - '0');
            any = true;
        }
        return any ? v : -1;
    }
    return -1;
}
