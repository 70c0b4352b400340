#![no_main]
//! The k8s_audit adapter (and format detection) on arbitrary bytes.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    onus_fuzz::check_adapter(data, onus::ingest::Format::K8sAudit);
});
