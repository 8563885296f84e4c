//! notes.rs — a small note / to-do store kept as plain files in one
//! directory: a WASI guest in Rust (std only) that uses files, directories,
//! renames, metadata, environment variables, arguments and stdin.
//!
//!   make apps
//!   mkdir -p /tmp/nb
//!   build/wasmind run --dir /tmp/nb::/nb --env NOTES_DIR=/nb \
//!       --env NOTES_AUTHOR=ada build/apps/notes.wasm add "Buy milk" 2 litres
//!   build/wasmind run --dir /tmp/nb::/nb --env NOTES_DIR=/nb \
//!       build/apps/notes.wasm list
//!
//! Store layout under the root (`--root DIR`, else $NOTES_DIR, else "."):
//!
//!   ROOT/next-id          the next note number, decimal text
//!   ROOT/open/NNNN-slug.txt   open notes
//!   ROOT/done/NNNN-slug.txt   finished notes (moved here by `done`)
//!
//! A note file is "title: T\nauthor: A\n\nBODY\n". Nothing depends on the
//! clock or on directory order (entries are sorted), so the output for a
//! given sequence of commands is always the same (tests/wasi/cases/apps.sh
//! compares it with tests/wasi/expected/notes.out).
//!
//! Exit status: 0 success, 1 an error (unknown note, I/O error: printed as
//! "notes: error: PATH: KIND" with the std::io::ErrorKind), 2 usage.

use std::env;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process;

const USAGE: &str = "\
usage: notes [--root DIR] COMMAND [ARGS...]
  add TITLE [WORDS...]   add a note (body: the WORDS, or stdin when WORDS is -)
  list                   list notes: id, [ ] open or [x] done, title, size
  show ID                print a note
  done ID                mark a note done (moves it to done/)
  rm ID                  delete a note
  find WORD              ids and titles of notes containing WORD (any case)
  stats                  number of notes and bytes, open and done
  export FILE            write every note into FILE (Markdown), under the root
environment: NOTES_DIR (root, default .), NOTES_AUTHOR (default anonymous)
";

/// An error with the path it concerns, printed once by main.
struct Failure {
    msg: String,
    usage: bool,
}

type Res<T> = Result<T, Failure>;

fn io_fail(path: &Path, e: io::Error) -> Failure {
    Failure { msg: format!("{}: {:?}", path.display(), e.kind()), usage: false }
}

fn fail<T>(msg: String) -> Res<T> {
    Err(Failure { msg, usage: false })
}

fn usage_fail<T>(msg: &str) -> Res<T> {
    Err(Failure { msg: msg.to_string(), usage: true })
}

/// One note as found on disk.
struct Note {
    id: u32,
    done: bool,
    path: PathBuf,
    title: String,
    size: u64,
}

struct Store {
    root: PathBuf,
}

impl Store {
    fn dir(&self, done: bool) -> PathBuf {
        self.root.join(if done { "done" } else { "open" })
    }

    /// Reads ROOT/next-id (1 when the store is new).
    fn next_id(&self) -> Res<u32> {
        let p = self.root.join("next-id");
        match fs::read_to_string(&p) {
            Ok(s) => match s.trim().parse::<u32>() {
                Ok(n) if n > 0 => Ok(n),
                _ => fail(format!("{}: corrupt counter {:?}", p.display(), s.trim())),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(1),
            Err(e) => Err(io_fail(&p, e)),
        }
    }

    /// Every note, open and done, sorted by id.
    fn notes(&self) -> Res<Vec<Note>> {
        let mut out = Vec::new();
        for done in [false, true] {
            let d = self.dir(done);
            let rd = match fs::read_dir(&d) {
                Ok(rd) => rd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_fail(&d, e)),
            };
            for ent in rd {
                let ent = ent.map_err(|e| io_fail(&d, e))?;
                let name = ent.file_name().to_string_lossy().into_owned();
                let id = match name.split('-').next().and_then(|s| s.parse::<u32>().ok()) {
                    Some(id) if name.ends_with(".txt") => id,
                    _ => continue, // not ours
                };
                let path = ent.path();
                let meta = fs::metadata(&path).map_err(|e| io_fail(&path, e))?;
                if !meta.is_file() {
                    continue;
                }
                let text = fs::read_to_string(&path).map_err(|e| io_fail(&path, e))?;
                let title = text
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("title: "))
                    .unwrap_or("(untitled)")
                    .to_string();
                out.push(Note { id, done, path, title, size: meta.len() });
            }
        }
        out.sort_by_key(|n| (n.id, n.done));
        Ok(out)
    }

    fn find(&self, id_arg: &str) -> Res<Note> {
        let id: u32 = match id_arg.parse() {
            Ok(n) => n,
            Err(_) => return usage_fail(&format!("not a note id: {:?}", id_arg)),
        };
        match self.notes()?.into_iter().find(|n| n.id == id) {
            Some(n) => Ok(n),
            None => fail(format!("no note {}", id)),
        }
    }
}

/// "Buy milk!" -> "buy-milk" (ASCII letters and digits, at most 24).
fn slug(title: &str) -> String {
    let mut s = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.is_empty() && !s.ends_with('-') {
            s.push('-');
        }
        if s.len() >= 24 {
            break;
        }
    }
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() { "note".to_string() } else { s }
}

fn cmd_add(st: &Store, args: &[String]) -> Res<()> {
    if args.is_empty() {
        return usage_fail("add: missing TITLE");
    }
    let title = args[0].trim();
    if title.is_empty() || title.contains('\n') {
        return usage_fail("add: TITLE must be one non-empty line");
    }
    let body = if args.len() == 2 && args[1] == "-" {
        let mut b = String::new();
        io::stdin()
            .read_to_string(&mut b)
            .map_err(|e| io_fail(Path::new("<stdin>"), e))?;
        b.trim_end().to_string()
    } else {
        args[1..].join(" ")
    };
    let author = env::var("NOTES_AUTHOR").unwrap_or_else(|_| "anonymous".to_string());
    let id = st.next_id()?;
    let dir = st.dir(false);
    fs::create_dir_all(&dir).map_err(|e| io_fail(&dir, e))?;
    let path = dir.join(format!("{:04}-{}.txt", id, slug(title)));
    let text = format!("title: {}\nauthor: {}\n\n{}\n", title, author, body);
    // create_new: never overwrite, even if next-id was edited by hand.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| io_fail(&path, e))?;
    f.write_all(text.as_bytes()).map_err(|e| io_fail(&path, e))?;
    let counter = st.root.join("next-id");
    fs::write(&counter, format!("{}\n", id + 1)).map_err(|e| io_fail(&counter, e))?;
    println!("added {} ({} bytes)", id, text.len());
    Ok(())
}

fn cmd_list(st: &Store) -> Res<()> {
    let notes = st.notes()?;
    if notes.is_empty() {
        println!("no notes");
    }
    for n in &notes {
        println!(
            "{:4} [{}] {} ({} bytes)",
            n.id,
            if n.done { 'x' } else { ' ' },
            n.title,
            n.size
        );
    }
    Ok(())
}

fn cmd_show(st: &Store, id: &str) -> Res<()> {
    let n = st.find(id)?;
    let text = fs::read(&n.path).map_err(|e| io_fail(&n.path, e))?;
    io::stdout()
        .write_all(&text)
        .map_err(|e| io_fail(Path::new("<stdout>"), e))
}

fn cmd_done(st: &Store, id: &str) -> Res<()> {
    let n = st.find(id)?;
    if n.done {
        return fail(format!("note {} is already done", n.id));
    }
    let dir = st.dir(true);
    fs::create_dir_all(&dir).map_err(|e| io_fail(&dir, e))?;
    let to = dir.join(n.path.file_name().unwrap_or_default());
    fs::rename(&n.path, &to).map_err(|e| io_fail(&n.path, e))?;
    println!("done {}: {}", n.id, n.title);
    Ok(())
}

fn cmd_rm(st: &Store, id: &str) -> Res<()> {
    let n = st.find(id)?;
    fs::remove_file(&n.path).map_err(|e| io_fail(&n.path, e))?;
    println!("removed {}: {}", n.id, n.title);
    Ok(())
}

fn cmd_find(st: &Store, word: &str) -> Res<()> {
    let w = word.to_lowercase();
    let mut hits = 0;
    for n in st.notes()? {
        let text = fs::read_to_string(&n.path).map_err(|e| io_fail(&n.path, e))?;
        if text.to_lowercase().contains(&w) {
            println!("{:4} {}", n.id, n.title);
            hits += 1;
        }
    }
    if hits == 0 {
        return fail(format!("nothing matches {:?}", word));
    }
    Ok(())
}

fn cmd_stats(st: &Store) -> Res<()> {
    let notes = st.notes()?;
    let (mut n_open, mut n_done, mut b_open, mut b_done) = (0, 0, 0u64, 0u64);
    for n in &notes {
        if n.done {
            n_done += 1;
            b_done += n.size;
        } else {
            n_open += 1;
            b_open += n.size;
        }
    }
    println!("open: {} notes, {} bytes", n_open, b_open);
    println!("done: {} notes, {} bytes", n_done, b_done);
    if let Some(big) = notes.iter().max_by_key(|n| (n.size, std::cmp::Reverse(n.id))) {
        println!("largest: {} ({} bytes)", big.id, big.size);
    }
    Ok(())
}

fn cmd_export(st: &Store, file: &str) -> Res<()> {
    let mut out = String::from("# Notes\n");
    for n in st.notes()? {
        let text = fs::read_to_string(&n.path).map_err(|e| io_fail(&n.path, e))?;
        let body = text.splitn(2, "\n\n").nth(1).unwrap_or("").trim_end();
        out.push_str(&format!(
            "\n## {} {}{}\n\n{}\n",
            n.id,
            n.title,
            if n.done { " (done)" } else { "" },
            body
        ));
    }
    let path = st.root.join(file);
    fs::write(&path, &out).map_err(|e| io_fail(&path, e))?;
    let len = fs::metadata(&path).map_err(|e| io_fail(&path, e))?.len();
    println!("exported to {} ({} bytes)", file, len);
    Ok(())
}

fn run(args: &[String]) -> Res<()> {
    let mut i = 0;
    let mut root = env::var("NOTES_DIR").unwrap_or_else(|_| ".".to_string());
    if args.first().map(|s| s.as_str()) == Some("--root") {
        match args.get(1) {
            Some(r) => root = r.clone(),
            None => return usage_fail("--root needs a directory"),
        }
        i = 2;
    }
    let st = Store { root: PathBuf::from(root) };
    let cmd = match args.get(i) {
        Some(c) => c.as_str(),
        None => return usage_fail("missing COMMAND"),
    };
    let rest = &args[i + 1..];
    let one = |what: &str| -> Res<&str> {
        if rest.len() == 1 {
            Ok(rest[0].as_str())
        } else {
            usage_fail(&format!("{}: expected one argument", what))
        }
    };
    match cmd {
        "add" => cmd_add(&st, rest),
        "list" => cmd_list(&st),
        "show" => cmd_show(&st, one("show")?),
        "done" => cmd_done(&st, one("done")?),
        "rm" => cmd_rm(&st, one("rm")?),
        "find" => cmd_find(&st, one("find")?),
        "stats" => cmd_stats(&st),
        "export" => cmd_export(&st, one("export")?),
        "help" | "--help" | "-h" => {
            print!("{}", USAGE);
            Ok(())
        }
        other => usage_fail(&format!("unknown command {:?}", other)),
    }
}

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    if let Err(f) = run(&args) {
        let _ = io::stdout().flush();
        eprintln!("notes: error: {}", f.msg);
        if f.usage {
            eprint!("{}", USAGE);
            process::exit(2);
        }
        process::exit(1);
    }
}
