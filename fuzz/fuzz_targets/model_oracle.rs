#![no_main]
//! `model_oracle`: see `ecr_contract::fuzzing::model_oracle`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ecr_contract::fuzzing::model_oracle(data));
