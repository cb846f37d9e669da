//! Links the bootstrap as a fixed-address (non-PIE) executable: without PIE the dynamic loader has no
//! relocations to apply at start (a cold-start cost) and the binary loses about 1 MB of relocation
//! records. The price is that the executable's own image is not address-randomised; the code that
//! handles untrusted bytes (image decoding) is Rust, and the C encoders only see pixel buffers.
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
