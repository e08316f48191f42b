// Bake libtorch's location into every executable (binary, tests, benches) so that
// nothing needs LD_LIBRARY_PATH, and keep libtorch_cuda.so linked although no symbol of
// it is referenced directly; without it CUDA is silently unavailable (tch-rs#980, #787).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Crop-aware, DCT-scaled JPEG decoding through the system libjpeg-turbo
    // (Debian: libjpeg62-turbo-dev); see src/engine/data/jpeg.rs.
    println!("cargo:rerun-if-changed=src/engine/data/jpeg/shim.c");
    if let Err(e) = cc::Build::new()
        .file("src/engine/data/jpeg/shim.c")
        .opt_level(2)
        .warnings(true)
        .try_compile("ablate_jpeg")
    {
        panic!(
            "cannot compile the libjpeg-turbo shim ({e}); install the headers and library: \
             apt-get install libjpeg62-turbo-dev (Debian/Ubuntu: libjpeg-turbo8-dev)"
        );
    }
    println!("cargo:rustc-link-lib=jpeg");
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
            println!("cargo:rustc-env=ABLATE_LIBTORCH_LIB={dir}");
        }
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch");
    }
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=ABLATE_GIT_COMMIT={commit}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}
