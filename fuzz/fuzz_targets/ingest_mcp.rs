#![no_main]
//! The mcp adapter (and format detection) on arbitrary bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    onus_fuzz::check_adapter(data, onus::ingest::Format::Mcp);
});
