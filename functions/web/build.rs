//! Embeds the pages of `web/` and the contract, docs/openapi.yaml, in the binary. Each asset is
//! named after its content's hash, so browsers may cache it for a year and still never run a stale
//! script after a deployment; the pages refer to the hashed names. Each file is also compressed
//! here, once, with gzip at its highest level: browsers get about a third of the bytes, and no
//! request spends CPU on it.
use flate2::{write::GzEncoder, Compression};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

/// The files of `web/` served under `/assets/` (by their file name), with their media types.
const ASSETS: [(&str, &str); 5] = [
    ("app.css", "text/css; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("icon.svg", "image/svg+xml"),
    ("docs.js", "text/javascript; charset=utf-8"),
    (
        "vendor/redoc.standalone.js",
        "text/javascript; charset=utf-8",
    ),
];

/// The pages: the account pages at `/`, the API reference at `/docs`. Every asset is named by one.
const PAGES: [&str; 2] = ["index.html", "docs.html"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read when the script runs, not when it is compiled: a build directory shared by two clones
    // reuses the compiled script, and must still read the clone being built.
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../..");
    let web = root.join("web");
    let out = PathBuf::from(env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed={}", web.display());
    let mut pages = Vec::new();
    for name in PAGES {
        pages.push((name, read_text(&web.join(name))?));
    }
    let mut table = String::from("/// Every asset: its hashed path, media type and content.\n");
    table.push_str("pub const ASSETS: &[Asset] = &[\n");
    for (name, media_type) in ASSETS {
        let source = web.join(name);
        println!("cargo:rerun-if-changed={}", source.display());
        let body = fs::read(&source).map_err(|error| format!("{}: {error}", source.display()))?;
        let file = name.rsplit('/').next().unwrap_or(name);
        let (stem, extension) = file
            .rsplit_once('.')
            .ok_or("an asset without an extension")?;
        let hashed = format!("/assets/{stem}.{}.{extension}", short_hash(&body));
        let plain = format!("/assets/{file}");
        let mut named = false;
        for (_, page) in pages.iter_mut() {
            if page.contains(&plain) {
                *page = page.replace(&plain, &hashed);
                named = true;
            }
        }
        if !named {
            return Err(format!("no page of web/ refers to {plain}").into());
        }
        let gzipped = out.join(format!("{file}.gz"));
        fs::write(&gzipped, gzip(&body)?)?;
        writeln!(
            table,
            "    Asset {{ path: {hashed:?}, media_type: {media_type:?}, body: include_str!({:?}), \
             gzip: include_bytes!({:?}) }},",
            fs::canonicalize(&source)?.display().to_string(),
            gzipped.display().to_string()
        )?;
    }
    table.push_str("];\n");
    // The documents revalidated on every visit: the two pages and the contract, each with a tag
    // for its plain body and one for its compressed body (another representation).
    let contract = root.join("docs/openapi.yaml");
    println!("cargo:rerun-if-changed={}", contract.display());
    pages.push(("openapi.yaml", read_text(&contract)?));
    for (name, text) in &pages {
        let constant = name.split('.').next().unwrap_or(name).to_uppercase();
        let hash = short_hash(text.as_bytes());
        let (plain, gzipped) = (out.join(name), out.join(format!("{name}.gz")));
        fs::write(&plain, text)?;
        fs::write(&gzipped, gzip(text.as_bytes())?)?;
        writeln!(
            table,
            "/// `{name}`, as served.\npub const {constant}: Document = Document {{ \
             plain: include_str!({:?}), gzip: include_bytes!({:?}), \
             etag: \"\\\"{hash}\\\"\", gzip_etag: \"\\\"{hash}-gzip\\\"\" }};",
            plain.display().to_string(),
            gzipped.display().to_string()
        )?;
    }
    fs::write(out.join("assets.rs"), table)?;
    Ok(())
}

fn gzip(content: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(content)?;
    encoder.finish()
}

fn read_text(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))
}

/// The first 64 bits of the content's SHA-256, in hex.
fn short_hash(content: &[u8]) -> String {
    Sha256::digest(content)[..8]
        .iter()
        .fold(String::new(), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}
