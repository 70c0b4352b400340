#![no_main]
//! The accountability manifest parser on arbitrary text.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    onus_fuzz::check_manifest(data);
});
