#![no_main]
//! `parse_response`: see `ecr_contract::fuzzing::parse_response`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ecr_contract::fuzzing::parse_response(data));
