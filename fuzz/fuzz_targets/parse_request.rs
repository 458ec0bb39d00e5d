#![no_main]
//! `parse_request`: see `ecr_contract::fuzzing::parse_request`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ecr_contract::fuzzing::parse_request(data));
