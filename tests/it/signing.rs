//! The signer that keeps the day's signing key signs as `aws-sigv4` does, and `serve`
//! accepts what it signs.

use std::time::{Duration, SystemTime};

use ecr_contract::wire::{Credentials, Signer, sign_request};
use proptest::prelude::*;

/// A URL: http or https, a host, maybe a port, a path of segments, sometimes a query.
fn arb_url() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![Just("http"), Just("https")];
    let host = prop_oneof![
        Just("127.0.0.1".to_owned()),
        Just("localhost".to_owned()),
        Just("api.ecr.us-east-1.amazonaws.com".to_owned()),
        Just("[::1]".to_owned()),
        "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5})?",
    ];
    let port = prop::option::of(prop_oneof![
        Just(80u16),
        Just(443),
        Just(5000),
        any::<u16>()
    ]);
    let segment = prop_oneof![
        8 => "[A-Za-z0-9_~-]{1,8}",
        1 => Just(".".to_owned()),
        1 => Just("..".to_owned()),
        1 => Just(String::new()),
        1 => "[A-Za-z0-9%. ]{1,6}",
    ];
    let path = prop::collection::vec(segment, 0..4);
    let query =
        prop::option::weighted(0.15, "[a-z]{1,4}=[a-z0-9]{0,4}(&[a-z]{1,4}=[a-z0-9]{0,4})?");
    (scheme, host, port, path, any::<bool>(), query).prop_map(
        |(scheme, host, port, path, slash, query)| {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let mut url = format!("{scheme}://{host}{port}/{}", path.join("/"));
            if slash && !path.is_empty() {
                url.push('/');
            }
            if let Some(query) = query {
                url.push('?');
                url.push_str(&query);
            }
            url
        },
    )
}

/// Headers as the harness and other clients send them: usual names in any case, the ones
/// SigV4 treats specially, and values with runs of spaces (sometimes a tab or non-ASCII).
fn arb_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just("content-type".to_owned()),
        Just("X-Amz-Target".to_owned()),
        Just("host".to_owned()),
        Just("x-amz-date".to_owned()),
        Just("x-amz-security-token".to_owned()),
        Just("user-agent".to_owned()),
        Just("Authorization".to_owned()),
        Just("transfer-encoding".to_owned()),
        "[A-Za-z][A-Za-z0-9-]{0,10}",
    ];
    let value = prop_oneof![
        10 => "[ -~]{0,24}",
        1 => "[ \ta-z]{0,6}",
        1 => "[a-zé ]{0,6}",
    ];
    prop::collection::vec((name, value), 0..6)
}

fn arb_time() -> impl Strategy<Value = SystemTime> {
    (0u64..253_402_300_800, 0u32..1_000_000_000)
        .prop_map(|(s, n)| SystemTime::UNIX_EPOCH + Duration::new(s, n))
}

fn arb_credentials() -> impl Strategy<Value = Credentials> {
    (
        "AKIA[A-Z0-9]{4,16}",
        "[A-Za-z0-9/+]{1,40}",
        prop::option::of("[A-Za-z0-9/+=]{1,64}"),
    )
        .prop_map(|(id, secret, token)| Credentials::new(id, secret, token))
}

fn arb_method() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("POST".to_owned()),
        1 => Just("GET".to_owned()),
        1 => Just("DELETE".to_owned()),
        1 => Just("get".to_owned()),
    ]
}

fn arb_region() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("us-east-1".to_owned()),
        Just("eu-west-1".to_owned()),
        "[a-z]{2}-[a-z]{4,9}-[1-9]",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// For any method, URL, headers, body, time, region and credentials (with and without a
    /// session token), the signer's headers and signature are `aws-sigv4`'s, and so are they
    /// when it signs again with the key it kept.
    #[test]
    fn the_signer_signs_as_aws_sigv4_does(
        credentials in arb_credentials(),
        region in arb_region(),
        method in arb_method(),
        url in arb_url(),
        headers in arb_headers(),
        body in prop::collection::vec(any::<u8>(), 0..200),
        time in arb_time(),
    ) {
        let headers: Vec<(&str, &str)> =
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let expected = sign_request(&credentials, &region, &method, &url, &headers, &body, time);
        let signer = Signer::new(credentials);
        let first = signer.sign(&region, &method, &url, &headers, &body, time);
        prop_assert_eq!(&first, &expected);
        let again = signer.sign(&region, &method, &url, &headers, &body, time);
        prop_assert_eq!(&again, &expected);
    }

    /// Signing a different day or region with the same signer gives `aws-sigv4`'s result for
    /// that day and region: the key kept for one is never used for another.
    #[test]
    fn a_kept_key_is_never_used_for_another_day_or_region(
        credentials in arb_credentials(),
        regions in (arb_region(), arb_region()),
        times in (arb_time(), arb_time()),
        body in prop::collection::vec(any::<u8>(), 0..50),
    ) {
        let url = "http://127.0.0.1:5000/";
        let headers = [("content-type", "application/x-amz-json-1.1")];
        let signer = Signer::new(credentials.clone());
        for (region, time) in [(&regions.0, times.0), (&regions.1, times.1), (&regions.0, times.1)] {
            let expected = sign_request(&credentials, region, "POST", url, &headers, &body, time);
            prop_assert_eq!(signer.sign(region, "POST", url, &headers, &body, time), expected);
        }
    }
}
