//! Runs a pixel loop compiled for AVX2 when the CPU has it (checked at run time; std caches
//! the answer), so that LLVM vectorises it 8 lanes wide instead of baseline x86-64's 4.
//! The arithmetic is unchanged: Rust never contracts `a * b + c` into an FMA, so every lane
//! computes what the scalar code computes, bit for bit.

/// Calls `f`, inlined into an AVX2-enabled function where the CPU supports it.
#[inline(always)]
pub fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn run<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports the enabled feature.
            return unsafe { run(f) };
        }
    }
    f()
}
