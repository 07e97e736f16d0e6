//! Embeds the web pages' files (`assets/`) into the binary: one `(path, bytes, gzipped)`
//! table, text files compressed once here so a phone downloads a third of the bytes.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, root, out);
        } else if path.file_name().is_some_and(|n| !n.to_string_lossy().starts_with('.')) {
            out.push(path.strip_prefix(root).expect("under the root").to_path_buf());
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("assets");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it"));
    let mut code = String::from("pub static EMBEDDED: &[super::Embedded] = &[\n");
    for (n, file) in files.iter().enumerate() {
        let name = file.to_string_lossy().replace('\\', "/");
        let full = root.join(file);
        let text = ["html", "js", "css", "svg", "json"].iter().any(|ext| name.ends_with(&format!(".{ext}")));
        let gzipped = if text {
            let bytes = std::fs::read(&full).expect("read an asset");
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            encoder.write_all(&bytes).expect("compress");
            let path = out_dir.join(format!("asset-{n}.gz"));
            std::fs::write(&path, encoder.finish().expect("compress")).expect("write a compressed asset");
            format!("Some(include_bytes!({:?}))", path.display().to_string())
        } else {
            "None".to_owned()
        };
        let bytes = format!("include_bytes!({:?})", full.display().to_string());
        writeln!(code, "    super::Embedded {{ name: {name:?}, bytes: {bytes}, gzipped: {gzipped} }},")
            .expect("string");
    }
    code.push_str("];\n");
    std::fs::write(out_dir.join("assets.rs"), code).expect("write the asset table");
}
