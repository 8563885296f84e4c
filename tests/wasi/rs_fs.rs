//! rs_fs.rs — a self-checking Rust (std only) guest for wasmind's WASI:
//! files, directories, renames, metadata, environment, arguments, stdio,
//! exit codes and the errors std::io reports for a missing file and for
//! paths that leave the pre-opened directory.
//!
//! Modes (argv[1]); tests/wasi/cases/rust.sh runs each one:
//!   fs ROOT [ARGS...]   the file-system checks under ROOT (a pre-open, empty
//!                       except for what rust.sh put there); prints one
//!                       "ok NAME" or "FAIL NAME: detail" line per check
//!                       (compared with expected/rs_fs.out) and exits 0 when
//!                       all passed, 1 otherwise
//!   ro ROOT             ROOT is a read-only pre-open holding data.txt:
//!                       reading works, every kind of write is refused
//!   cat                 copies stdin to stdout upper-cased, then prints
//!                       "N bytes, M lines" to stdout and "cat done" to stderr
//!   exit N              exits with status N (std::process::exit)
//!   panic               panics (Rust aborts: the guest traps)
//!
//! Error codes are compared as WASI errno numbers (raw_os_error), since
//! several std::io::ErrorKind values (NotADirectory, DirectoryNotEmpty) are
//! not stable in Rust 1.63. A path leaving the sandbox may be refused with
//! ENOTCAPABLE (76) or EPERM (63), as runtimes differ; both print "denied".

use std::env;
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process;

const E_ACCES: i32 = 2;
const E_EXIST: i32 = 20;
const E_ISDIR: i32 = 31;
const E_NOENT: i32 = 44;
const E_NOTDIR: i32 = 54;
const E_NOTEMPTY: i32 = 55;
const E_PERM: i32 = 63;
const E_ROFS: i32 = 69;
const E_NOTCAPABLE: i32 = 76;

struct T {
    failures: u32,
}

impl T {
    fn check(&mut self, name: &str, ok: bool, detail: String) {
        if ok {
            println!("ok {}", name);
        } else {
            println!("FAIL {}: {}", name, detail);
            self.failures += 1;
        }
    }

    /// r must be an error with WASI errno `want`.
    fn errno<V: std::fmt::Debug>(&mut self, name: &str, r: io::Result<V>, want: i32) {
        match r {
            Ok(v) => self.check(name, false, format!("succeeded: {:?}", v)),
            Err(e) => self.check(
                name,
                e.raw_os_error() == Some(want),
                format!("errno {:?} ({:?}), want {}", e.raw_os_error(), e.kind(), want),
            ),
        }
    }

    /// r must be refused by the sandbox (ENOTCAPABLE or EPERM, or for a
    /// read-only pre-open also EROFS / EACCES).
    fn denied<V: std::fmt::Debug>(&mut self, name: &str, r: io::Result<V>, ro: bool) {
        match r {
            Ok(v) => self.check(name, false, format!("succeeded: {:?}", v)),
            Err(e) => {
                let c = e.raw_os_error().unwrap_or(-1);
                let ok = c == E_NOTCAPABLE || c == E_PERM || (ro && (c == E_ROFS || c == E_ACCES));
                self.check(name, ok, format!("errno {} ({:?})", c, e.kind()))
            }
        }
    }

    fn ok<V>(&mut self, name: &str, r: io::Result<V>) -> Option<V> {
        match r {
            Ok(v) => {
                self.check(name, true, String::new());
                Some(v)
            }
            Err(e) => {
                self.check(name, false, format!("{:?} {}", e.kind(), e));
                None
            }
        }
    }
}

/* ==== fs mode ============================================================ */

fn sorted_names(dir: &Path) -> io::Result<Vec<String>> {
    let mut v = Vec::new();
    for e in fs::read_dir(dir)? {
        v.push(e?.file_name().to_string_lossy().into_owned());
    }
    v.sort();
    Ok(v)
}

fn pattern(n: usize) -> Vec<u8> {
    // Deterministic bytes with no short period (a linear congruential stream).
    let mut x: u32 = 12345;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1103515245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect()
}

fn fs_checks(t: &mut T, root: &str, extra: &[String]) {
    let r = Path::new(root);

    // Arguments and environment.
    t.check("args", extra == ["one", "two words", "ünïcode"], format!("{:?}", extra));
    t.check("env.set", env::var("RS_TEST").as_deref() == Ok("yes"), format!("{:?}", env::var("RS_TEST")));
    t.check("env.equals", env::var("RS_EQ").as_deref() == Ok("a=b"), format!("{:?}", env::var("RS_EQ")));
    t.check(
        "env.missing",
        env::var("RS_NOT_SET") == Err(env::VarError::NotPresent),
        format!("{:?}", env::var("RS_NOT_SET")),
    );
    let n_vars = env::vars().filter(|(k, _)| k.starts_with("RS_")).count();
    t.check("env.count", n_vars == 2, format!("{} RS_ vars", n_vars));

    // The pre-open itself.
    match fs::metadata(r) {
        Ok(m) => t.check("root.is_dir", m.is_dir(), format!("{:?}", m.file_type())),
        Err(e) => t.check("root.is_dir", false, format!("{:?}", e)),
    }

    // Write, read back, append, metadata.
    let f1 = r.join("hello.txt");
    t.ok("write", fs::write(&f1, b"hello\n"));
    t.check("read", fs::read(&f1).ok().as_deref() == Some(&b"hello\n"[..]), String::new());
    let app = OpenOptions::new().append(true).open(&f1).and_then(|mut f| f.write_all(b"world\n"));
    t.ok("append", app);
    t.check(
        "read.appended",
        fs::read_to_string(&f1).ok().as_deref() == Some("hello\nworld\n"),
        format!("{:?}", fs::read_to_string(&f1)),
    );
    match fs::metadata(&f1) {
        Ok(m) => t.check("metadata.file", m.is_file() && m.len() == 12, format!("len {}", m.len())),
        Err(e) => t.check("metadata.file", false, format!("{:?}", e)),
    }

    // A larger file through a few syscalls, seek, set_len, sync.
    let big = pattern(300_000);
    let f2 = r.join("big.bin");
    t.ok("write.big", File::create(&f2).and_then(|mut f| f.write_all(&big).and_then(|_| f.sync_all())));
    let rb = fs::read(&f2).unwrap_or_default();
    t.check("read.big", rb == big, format!("{} bytes back", rb.len()));
    let mut part = [0u8; 16];
    let sk = File::open(&f2).and_then(|mut f| {
        let p = f.seek(SeekFrom::Start(123_456))?;
        f.read_exact(&mut part)?;
        let end = f.seek(SeekFrom::End(-10))?;
        Ok((p, end))
    });
    t.check(
        "seek",
        matches!(sk, Ok((123_456, 299_990))) && part[..] == big[123_456..123_472],
        format!("{:?}", sk),
    );
    let tr = OpenOptions::new().write(true).open(&f2).and_then(|f| f.set_len(1000));
    t.ok("set_len", tr);
    t.check(
        "set_len.size",
        fs::metadata(&f2).map(|m| m.len()).ok() == Some(1000),
        format!("{:?}", fs::metadata(&f2).map(|m| m.len())),
    );

    // Directories: nested create, listing (sorted), many entries.
    let d = r.join("a/b/c");
    t.ok("create_dir_all", fs::create_dir_all(&d));
    t.ok("write.nested", fs::write(d.join("deep.txt"), b"deep"));
    t.check(
        "read.nested",
        fs::read_to_string(r.join("a/b/c/deep.txt")).ok().as_deref() == Some("deep"),
        String::new(),
    );
    t.ok("write.sibling", fs::write(r.join("a/b/z.txt"), b"z"));
    t.check(
        "read_dir",
        sorted_names(&r.join("a/b")).ok() == Some(vec!["c".to_string(), "z.txt".to_string()]),
        format!("{:?}", sorted_names(&r.join("a/b"))),
    );
    match fs::metadata(&d) {
        Ok(m) => t.check("metadata.dir", m.is_dir() && !m.is_file(), String::new()),
        Err(e) => t.check("metadata.dir", false, format!("{:?}", e)),
    }
    let many = r.join("many");
    let mut made = fs::create_dir(&many).is_ok();
    let mut want = Vec::new();
    for i in 0..300 {
        // long names, so the listing needs several fd_readdir calls
        let name = format!("entry-{:03}-{}", i, "x".repeat(40));
        made &= fs::write(many.join(&name), format!("{}", i)).is_ok();
        want.push(name);
    }
    t.check("many.create", made, String::new());
    let got = sorted_names(&many).unwrap_or_default();
    t.check("many.read_dir", got == want, format!("{} of 300 entries", got.len()));

    // Rename (file and directory); the old names are gone.
    let f3 = r.join("renamed.txt");
    t.ok("rename", fs::rename(&f1, &f3));
    t.errno("rename.old_gone", File::open(&f1), E_NOENT);
    t.check("rename.content", fs::read(&f3).map(|v| v.len()).ok() == Some(12), String::new());
    t.ok("rename.dir", fs::rename(r.join("a/b"), r.join("a/moved")));
    t.check(
        "rename.dir.content",
        fs::read(r.join("a/moved/c/deep.txt")).ok().as_deref() == Some(&b"deep"[..]),
        String::new(),
    );

    // Errors: ErrorKind where std names it, else the WASI errno.
    match File::open(r.join("no-such-file")) {
        Ok(_) => t.check("missing.kind", false, "opened".to_string()),
        Err(e) => t.check("missing.kind", e.kind() == ErrorKind::NotFound, format!("{:?}", e.kind())),
    }
    t.errno("missing.errno", fs::read(r.join("no/such/dir/file")), E_NOENT);
    match fs::create_dir(r.join("a")) {
        Ok(_) => t.check("exists.kind", false, "created".to_string()),
        Err(e) => t.check("exists.kind", e.kind() == ErrorKind::AlreadyExists, format!("{:?}", e.kind())),
    }
    t.errno(
        "create_new.exists",
        OpenOptions::new().write(true).create_new(true).open(&f3),
        E_EXIST,
    );
    t.errno("read_dir.on_file", fs::read_dir(&f3).map(|_| ()), E_NOTDIR);
    t.errno("open.file_as_dir", File::open(f3.join("x")), E_NOTDIR);
    t.errno("write.dir", OpenOptions::new().write(true).open(r.join("a")), E_ISDIR);
    t.errno("remove_dir.not_empty", fs::remove_dir(r.join("a")), E_NOTEMPTY);

    // Removal.
    t.ok("remove_file", fs::remove_file(&f3));
    t.errno("remove_file.again", fs::remove_file(&f3), E_NOENT);
    t.ok("remove_dir_all", fs::remove_dir_all(r.join("a")));
    t.check("remove_dir_all.gone", !r.join("a").exists(), String::new());
    t.ok("remove_dir_all.many", fs::remove_dir_all(&many));

    // Hard links and timestamps (the clock and the file system agree).
    let f4 = r.join("hard.txt");
    t.ok("write.for_link", fs::write(&f4, b"linked\n"));
    t.ok("hard_link", fs::hard_link(&f4, r.join("hard2.txt")));
    t.check(
        "hard_link.content",
        fs::read_to_string(r.join("hard2.txt")).ok().as_deref() == Some("linked\n"),
        String::new(),
    );
    let now = std::time::SystemTime::now();
    let age = fs::metadata(&f4)
        .and_then(|m| m.modified())
        .map(|m| now.duration_since(m).map(|d| d.as_secs()).unwrap_or(0));
    t.check("mtime.recent", matches!(age, Ok(s) if s < 3600), format!("{:?}", age));
    t.ok("remove.link1", fs::remove_file(&f4));
    t.ok("remove.link2", fs::remove_file(r.join("hard2.txt")));

    // Symbolic links made by rust.sh: one inside the pre-open, one out.
    t.check(
        "read_link",
        fs::read_link(r.join("link-in")).ok().as_deref() == Some(Path::new("inside.txt")),
        format!("{:?}", fs::read_link(r.join("link-in"))),
    );
    t.check(
        "symlink_metadata",
        fs::symlink_metadata(r.join("link-out")).map(|m| m.file_type().is_symlink()).ok() == Some(true),
        format!("{:?}", fs::symlink_metadata(r.join("link-out")).map(|m| m.file_type())),
    );
    t.check(
        "symlink.inside",
        fs::read_to_string(r.join("link-in")).ok().as_deref() == Some("inside\n"),
        format!("{:?}", fs::read_to_string(r.join("link-in"))),
    );
    t.denied("symlink.escape", fs::read(r.join("link-out")), false);
    t.denied("symlink.escape.dir", fs::read(r.join("link-up/outside.txt")), false);

    // Paths leaving the pre-open. No pre-open matches "/": std itself
    // refuses (no syscall), with an error that is not NotFound.
    match fs::read("/outside.txt") {
        Ok(_) => t.check("outside.no_preopen", false, "read".to_string()),
        Err(e) => t.check("outside.no_preopen", e.kind() != ErrorKind::NotFound, format!("{:?}", e.kind())),
    }
    t.denied("outside.dotdot", fs::read(format!("{}/../outside.txt", root)), false);
    t.denied("outside.dotdot.deep", fs::read(format!("{}/sub/../../outside.txt", root)), false);
    t.denied("outside.create", fs::write(format!("{}/../escaped.txt", root), b"x"), false);
    t.denied("outside.mkdir", fs::create_dir(format!("{}/../escaped-dir", root)), false);
    t.denied(
        "outside.rename",
        fs::rename(r.join("sub/kept.txt"), format!("{}/../escaped-rename.txt", root)),
        false,
    );
    t.check(
        "outside.rename.kept",
        fs::read_to_string(r.join("sub/kept.txt")).ok().as_deref() == Some("kept\n"),
        String::new(),
    );

    // stderr is a separate stream (rust.sh checks it).
    eprintln!("rs_fs: stderr line");
}

/* ==== ro mode ============================================================ */

fn ro_checks(t: &mut T, root: &str) {
    let r = Path::new(root);
    t.check(
        "ro.read",
        fs::read_to_string(r.join("data.txt")).ok().as_deref() == Some("read only\n"),
        format!("{:?}", fs::read_to_string(r.join("data.txt"))),
    );
    t.check("ro.read_dir", sorted_names(r).ok() == Some(vec!["data.txt".to_string()]), String::new());
    t.denied("ro.create", fs::write(r.join("new.txt"), b"x"), true);
    t.denied("ro.write_existing", OpenOptions::new().write(true).open(r.join("data.txt")), true);
    t.denied("ro.append", OpenOptions::new().append(true).open(r.join("data.txt")), true);
    t.denied("ro.mkdir", fs::create_dir(r.join("d")), true);
    t.denied("ro.remove", fs::remove_file(r.join("data.txt")), true);
    t.denied("ro.rename", fs::rename(r.join("data.txt"), r.join("moved.txt")), true);
    t.check("ro.intact", sorted_names(r).ok() == Some(vec!["data.txt".to_string()]), String::new());
}

/* ==== main =============================================================== */

fn main() {
    let args: Vec<String> = env::args().collect();
    let mode = args.get(1).map(|s| s.as_str()).unwrap_or("");
    let mut t = T { failures: 0 };
    match mode {
        "fs" if args.len() >= 3 => fs_checks(&mut t, &args[2], &args[3..]),
        "ro" if args.len() == 3 => ro_checks(&mut t, &args[2]),
        "cat" => {
            let mut input = Vec::new();
            if let Err(e) = io::stdin().read_to_end(&mut input) {
                eprintln!("rs_fs: stdin: {}", e);
                process::exit(1);
            }
            let lines = input.iter().filter(|&&b| b == b'\n').count();
            let mut out = io::stdout();
            let up: Vec<u8> = input.iter().map(|b| b.to_ascii_uppercase()).collect();
            let _ = out.write_all(&up);
            println!("{} bytes, {} lines", input.len(), lines);
            eprintln!("cat done");
            return;
        }
        "exit" if args.len() == 3 => process::exit(args[2].parse().unwrap_or(99)),
        "panic" => panic!("rs_fs: deliberate panic"),
        _ => {
            eprintln!("usage: rs_fs fs ROOT [ARGS...] | ro ROOT | cat | exit N | panic");
            process::exit(2);
        }
    }
    process::exit(if t.failures == 0 { 0 } else { 1 });
}
