/*
 * wctool.c — wc and a fixed-string grep in one small file tool: counts the
 * lines, words and bytes of files (and of whole directory trees with -r),
 * or prints the lines that contain a pattern. Written for WASI: under
 * wasmind it sees only the pre-opened directories, so paths outside them
 * fail with "Capabilities insufficient".
 *
 *   wctool [-r] [-e PATTERN [-i] [-c]] PATH...     (PATH "-" is stdin)
 *
 *   make apps
 *   build/wasmind run --dir src::/src build/apps/wctool.wasm -r /src/util
 *   build/wasmind run --dir src::/src build/apps/wctool.wasm -r -e wasi_ /src/wasi
 *
 * Output is the same byte for byte whether the program is built for
 * wasm32-wasi or natively (gcc -std=c11), which the WASI tests check
 * (tests/wasi/cases/apps.sh):
 *   - counting:  "%8lu %8lu %8lu PATH" per file (lines, words, bytes), then
 *                "... total" when more than one file was counted;
 *   - -e:        "PATH:LINE:TEXT" per matching line (grep -n style);
 *   - -e -c:     "PATH:COUNT" per file;
 *   - errors:    "wctool: PATH: MESSAGE" on stderr, with messages from a
 *                table of our own (glibc and wasi-libc word them
 *                differently);
 *   - directories are read with readdir and their entries sorted with
 *     strcmp (the host's directory order differs between file systems);
 *     symbolic links met during a walk are skipped, not followed (as
 *     grep -r), and so are sockets, FIFOs and devices.
 * A word is a maximal run of bytes that are not ASCII white space (C
 * locale isspace), a line ends with '\n' (a last unterminated line is
 * counted as a line by -e, but like wc not in the line count).
 *
 * Exit status: 0 success (with -e: at least one line matched); 1 with -e:
 * nothing matched; 2 an error occurred for some operand (still processing
 * the others), or a usage error.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK_BYTES (64 * 1024)   /* read() size */
#define MAX_DEPTH 64              /* directory nesting we follow */

typedef struct counts {
    unsigned long lines, words, bytes;
} counts;

typedef struct opts {
    bool recursive;               /* -r */
    bool ignore_case;             /* -i */
    bool count_only;              /* -c */
    const char *pattern;          /* -e, NULL when counting */
    size_t pattern_len;
} opts;

typedef struct state {
    opts o;
    counts total;
    unsigned long n_files;        /* files counted */
    unsigned long n_matches;      /* matching lines, all files */
    bool had_error;
    unsigned char *buf;           /* CHUNK_BYTES read buffer */
    char *line;                   /* current line (grep mode) */
    size_t line_len, line_cap;
} state;

/* ==== Messages ========================================================== */

/* The text for errno e: the same on every libc for the errors a file tool
 * meets, falling back to strerror for the rest. */
static const char *err_text(int e) {
    switch (e) {
    case ENOENT: return "No such file or directory";
    case EACCES: return "Permission denied";
    case EPERM: return "Operation not permitted";
    case ENOTDIR: return "Not a directory";
    case EISDIR: return "Is a directory";
    case ELOOP: return "Too many levels of symbolic links";
    case ENAMETOOLONG: return "File name too long";
    case EMFILE: return "Too many open files";
    case ENOMEM: return "Out of memory";
    case EIO: return "I/O error";
    case EBADF: return "Bad file descriptor";
#ifdef ENOTCAPABLE   /* WASI: the path is outside every pre-open */
    case ENOTCAPABLE: return "Capabilities insufficient";
#endif
    default: return strerror(e);
    }
}

static void report(state *s, const char *path, int e) {
    fflush(stdout);   /* keep stdout and stderr in order on a terminal */
    fprintf(stderr, "wctool: %s: %s\n", path, err_text(e));
    s->had_error = true;
}

/* ==== Counting and matching ============================================= */

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static bool is_space(unsigned char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Does the line [p, p+n) contain the pattern? Plain O(n*m) search: the
 * patterns are short and lines are short. */
static bool line_matches(const opts *o, const char *p, size_t n) {
    size_t m = o->pattern_len;
    if (m == 0) return true;
    if (n < m) return false;
    for (size_t i = 0; i + m <= n; i++) {
        size_t k = 0;
        if (o->ignore_case) {
            while (k < m && lower((unsigned char)p[i + k]) ==
                                lower((unsigned char)o->pattern[k]))
                k++;
        } else {
            while (k < m && p[i + k] == o->pattern[k]) k++;
        }
        if (k == m) return true;
    }
    return false;
}

static bool line_push(state *s, const unsigned char *p, size_t n) {
    if (s->line_len + n > s->line_cap) {
        size_t cap = s->line_cap ? s->line_cap : 256;
        while (cap < s->line_len + n) cap *= 2;
        char *nl = realloc(s->line, cap);
        if (!nl) return false;
        s->line = nl;
        s->line_cap = cap;
    }
    memcpy(s->line + s->line_len, p, n);
    s->line_len += n;
    return true;
}

/* The current line is complete (line number line_no): print it if it
 * matches, and count it. */
static unsigned long line_done(state *s, const char *path,
                               unsigned long line_no) {
    bool hit = line_matches(&s->o, s->line, s->line_len);
    if (hit && !s->o.count_only) {
        printf("%s:%lu:", path, line_no);
        fwrite(s->line, 1, s->line_len, stdout);
        putchar('\n');
    }
    s->line_len = 0;
    return hit;
}

/* Read fd to the end, counting (or matching), and print its line.
 * Returns false after reporting a read error. */
static bool process_fd(state *s, int fd, const char *path) {
    counts c = {0, 0, 0};
    bool in_word = false;
    unsigned long hits = 0;
    s->line_len = 0;
    for (;;) {
        ssize_t n = read(fd, s->buf, CHUNK_BYTES);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            report(s, path, errno);
            return false;
        }
        if (n == 0) break;
        c.bytes += (unsigned long)n;
        const unsigned char *p = s->buf, *end = s->buf + n;
        if (s->o.pattern) {
            while (p < end) {
                const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
                const unsigned char *stop = nl ? nl : end;
                if (!line_push(s, p, (size_t)(stop - p))) {
                    report(s, path, ENOMEM);
                    return false;
                }
                if (!nl) break;
                c.lines++;
                hits += line_done(s, path, c.lines);
                p = nl + 1;
            }
        } else {
            for (; p < end; p++) {
                unsigned char ch = *p;
                if (ch == '\n') c.lines++;
                if (is_space(ch)) {
                    in_word = false;
                } else if (!in_word) {
                    in_word = true;
                    c.words++;
                }
            }
        }
    }
    if (s->o.pattern) {
        if (s->line_len) hits += line_done(s, path, c.lines + 1);
        if (s->o.count_only) printf("%s:%lu\n", path, hits);
        s->n_matches += hits;
    } else {
        printf("%8lu %8lu %8lu %s\n", c.lines, c.words, c.bytes, path);
        s->total.lines += c.lines;
        s->total.words += c.words;
        s->total.bytes += c.bytes;
    }
    s->n_files++;
    return true;
}

/* ==== Paths and directory walks ========================================= */

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *name) {
    size_t dl = strlen(dir), nl = strlen(name);
    bool slash = dl > 0 && dir[dl - 1] == '/';
    char *p = malloc(dl + nl + 2);
    if (!p) return NULL;
    memcpy(p, dir, dl);
    if (!slash) p[dl++] = '/';
    memcpy(p + dl, name, nl + 1);
    return p;
}

static void process_path(state *s, const char *path, int depth);

/* Process every entry of directory path in strcmp order. The names are
 * read first and the directory closed before descending, so a deep tree
 * holds one directory handle at a time. */
static void walk_dir(state *s, const char *path, int depth) {
    if (depth >= MAX_DEPTH) {
        report(s, path, ELOOP);
        return;
    }
    DIR *d = opendir(path);
    if (!d) {
        report(s, path, errno);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    bool oom = false;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn) { oom = true; break; }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) { oom = true; break; }
        n++;
    }
    if (oom) report(s, path, ENOMEM);
    else if (errno != 0) report(s, path, errno);
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        char *child = join(path, names[i]);
        if (!child) {
            report(s, path, ENOMEM);
        } else {
            struct stat st;
            if (lstat(child, &st) != 0) report(s, child, errno);
            else if (S_ISDIR(st.st_mode)) walk_dir(s, child, depth + 1);
            else if (S_ISREG(st.st_mode)) process_path(s, child, depth + 1);
            /* else: symbolic link, socket, FIFO, device: skipped */
        }
        free(child);
        free(names[i]);
    }
    free(names);
}

/* One operand (or a regular file met during a walk). */
static void process_path(state *s, const char *path, int depth) {
    if (strcmp(path, "-") == 0) {
        process_fd(s, 0, path);
        return;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        report(s, path, errno);
        return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        report(s, path, errno);
    } else if (S_ISDIR(st.st_mode)) {
        close(fd);
        if (s->o.recursive) walk_dir(s, path, depth);
        else report(s, path, EISDIR);
        return;
    } else {
        process_fd(s, fd, path);
    }
    close(fd);
}

/* ==== Command line ====================================================== */

static int usage(void) {
    fprintf(stderr,
            "usage: wctool [-r] [-e PATTERN [-i] [-c]] PATH...\n"
            "  count lines, words and bytes of each file (PATH - is stdin)\n"
            "  -r          walk directories recursively (sorted by name)\n"
            "  -e PATTERN  print the lines containing PATTERN as "
            "PATH:LINE:TEXT\n"
            "  -i          with -e: ignore ASCII case\n"
            "  -c          with -e: print PATH:COUNT per file instead\n"
            "exit status: 0 ok (-e: some line matched), 1 -e: no match,\n"
            "             2 an error for some PATH, or usage\n");
    return 2;
}

int main(int argc, char **argv) {
    state s;
    memset(&s, 0, sizeof s);
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) { i++; break; }
        if (strcmp(a, "-e") == 0) {
            if (++i >= argc) return usage();
            s.o.pattern = argv[i];
            s.o.pattern_len = strlen(argv[i]);
            continue;
        }
        for (const char *f = a + 1; *f; f++) {
            if (*f == 'r') s.o.recursive = true;
            else if (*f == 'i') s.o.ignore_case = true;
            else if (*f == 'c') s.o.count_only = true;
            else return usage();
        }
    }
    if (i >= argc) return usage();
    if ((s.o.ignore_case || s.o.count_only) && !s.o.pattern) return usage();
    s.buf = malloc(CHUNK_BYTES);
    if (!s.buf) {
        fprintf(stderr, "wctool: %s\n", err_text(ENOMEM));
        return 2;
    }
    for (; i < argc; i++) process_path(&s, argv[i], 0);
    if (!s.o.pattern && s.n_files > 1)
        printf("%8lu %8lu %8lu total\n", s.total.lines, s.total.words,
               s.total.bytes);
    free(s.buf);
    free(s.line);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "wctool: standard output: %s\n", err_text(errno));
        return 2;
    }
    if (s.had_error) return 2;
    if (s.o.pattern && s.n_matches == 0) return 1;
    return 0;
}
