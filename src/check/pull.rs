//! The pull probes: a server's registry API (`/v2/...`) judged against the same model mirror
//! as its BatchGetImage (spec `registry-api.md`). Found at `--registry-url`, else derived
//! from the endpoint (ECR's `api.ecr.<region>` becomes `<account>.dkr.ecr.<region>`; any
//! other endpoint, such as `serve`, is its own registry). A server with no registry API has
//! every `REG-*` rule left not exercised.

use std::collections::BTreeSet;

use base64::Engine as _;

use crate::model::manifest::{OCI, S1, S2};
use crate::model::{Call, ImageDigest, Registry, batch_get_image, manifest_request};
use crate::oracle::coverage::RegistryProbe;
use crate::oracle::{
    PullObserved, RuleId, TAGS_MAX_N, Violation, check_blob, check_blob_head, check_blob_unknown,
    check_challenge, check_denied, check_gone_after_delete, check_head, check_manifest, check_ping,
    check_tags, check_tags_limit, check_token, check_visible_after_put, has_registry_api,
};
use crate::remote::{Exchange, Fetched, TransportError};
use crate::report::{Finding, Reproduction, Response};
use crate::wire::registry::{Reference, accepted_media_types, next_link};
use crate::wire::{self, Operation};

use super::digests::PutDigests;
use super::session::{CheckError, Session};

/// The `Accept` lines every manifest is fetched with: each format alone, several lines, one
/// line with several types joined by commas, `q=` values (which do not reorder ECR's choice),
/// a type refused with `q=0`, and no `Accept` at all (spec `registry-api.md` section 2).
const ACCEPTS: [&[&str]; 8] = [
    &[S2],
    &[OCI],
    &[S1],
    &[OCI, S2],
    &[concat!(
        "application/vnd.oci.image.manifest.v1+json, ",
        "application/vnd.docker.distribution.manifest.v2+json"
    )],
    &[concat!(
        "application/vnd.docker.distribution.manifest.v2+json;q=0.5, ",
        "application/vnd.oci.image.manifest.v1+json;q=0.9"
    )],
    &[concat!(
        "application/vnd.docker.distribution.manifest.v2+json;q=0, ",
        "application/vnd.oci.image.manifest.v1+json"
    )],
    &[],
];

/// The most `tags/list` pages followed.
const MAX_PAGES: usize = 1000;

/// The registry API's base URL for the endpoint `url` of account `account`.
pub(crate) fn registry_url(url: &str, given: Option<&str>, account: &str) -> String {
    let url = given.unwrap_or(url).trim_end_matches('/');
    match (given, url.find("://api.ecr.")) {
        (None, Some(at)) => format!("https://{account}.dkr.ecr.{}", &url[at + 11..]),
        _ => url.to_owned(),
    }
}

/// One pull conversation: the base URL and the Basic credentials.
struct Puller {
    base: String,
    authorization: String,
}

/// Probes the registry API against `base`, the mirror of what the server holds.
pub(super) async fn probe_registry(
    session: &mut Session<'_>,
    base: &Registry,
    given: Option<&str>,
) -> Result<(), CheckError> {
    let account = base.account.to_string();
    let url = registry_url(session.target.url(), given, &account);
    let ping = fetch(session, "GET", &format!("{url}/v2/"), &[]).await?;
    if !has_registry_api(&observed(&ping)) {
        session.notes.push(format!(
            "no registry API at {url}/v2/ (HTTP {}): the REG-* rules were not exercised",
            ping.status
        ));
        return Ok(());
    }
    judge(
        session,
        "registry ping without credentials",
        &ping,
        check_challenge(&observed(&ping), &account, &url),
        &[RuleId::RegAuthChallenge],
    );
    session
        .covered
        .record_registry(base, RegistryProbe::Challenge);
    let Some(authorization) = token(session).await? else {
        return Ok(());
    };
    let puller = Puller {
        base: url,
        authorization,
    };
    for probe in [RegistryProbe::Token, RegistryProbe::Denied] {
        session.covered.record_registry(base, probe);
    }
    ping_with(session, &puller).await?;
    manifests(session, &puller, base).await?;
    blobs(session, &puller, base).await?;
    tags(session, &puller, base).await?;
    same_state(session, &puller, base).await
}

/// The `Authorization` value of GetAuthorizationToken's token; `None` (with a note) when the
/// server hands out none.
async fn token(session: &mut Session<'_>) -> Result<Option<String>, CheckError> {
    let asked_at = super::clock::now_nanos() as f64 / 1e9;
    let (exchange, all) = authorization(session).await?;
    let data = all.into_iter().next().unwrap_or_default();
    let token = data.authorization_token.clone();
    match (exchange.status, token) {
        (200, Some(token)) => {
            let violations = check_token(&token, data.expires_at, asked_at);
            let fetched = Fetched {
                request: format!("POST {} GetAuthorizationToken", session.target.url()),
                status: exchange.status,
                headers: exchange.headers.clone(),
                body: exchange.body.clone(),
            };
            judge(
                session,
                "GetAuthorizationToken",
                &fetched,
                violations,
                &[RuleId::RegAuthToken],
            );
            Ok(Some(format!("Basic {token}")))
        }
        (status, _) => {
            session.notes.push(format!(
                "GetAuthorizationToken answered HTTP {status} without a token: only REG-AUTH-CHALLENGE was exercised"
            ));
            Ok(None)
        }
    }
}

/// Asks GetAuthorizationToken for the registry's credentials: the answer and its
/// authorization data, every token in it learned as a secret before anything of the answer
/// becomes evidence.
pub(super) async fn authorization(
    session: &mut Session<'_>,
) -> Result<(Exchange, Vec<wire::AuthorizationData>), CheckError> {
    let request = wire::GetAuthorizationTokenRequest::default();
    let exchange = session
        .send(
            Operation::GetAuthorizationToken,
            wire::encode_request(&request).body,
        )
        .await?;
    let all = wire::decode_body::<wire::GetAuthorizationTokenResponse>(&exchange.body)
        .ok()
        .and_then(|d| d.value.authorization_data)
        .unwrap_or_default();
    for token in all.iter().filter_map(|d| d.authorization_token.as_deref()) {
        session.secrets.learn_authorization_token(token);
    }
    Ok((exchange, all))
}

async fn ping_with(session: &mut Session<'_>, puller: &Puller) -> Result<(), CheckError> {
    let url = format!("{}/v2/", puller.base);
    let ping = fetch(
        session,
        "GET",
        &url,
        &[("authorization", puller.authorization.clone())],
    )
    .await?;
    judge(
        session,
        "registry ping with the token",
        &ping,
        check_ping(&observed(&ping)),
        &[RuleId::RegPing, RuleId::RegAuthToken],
    );
    let forged =
        base64::engine::general_purpose::STANDARD.encode("AWS:not-a-token-of-this-registry");
    let denied = fetch(
        session,
        "GET",
        &url,
        &[("authorization", format!("Basic {forged}"))],
    )
    .await?;
    judge(
        session,
        "registry ping with an invalid token",
        &denied,
        check_denied(&observed(&denied)),
        &[RuleId::RegAuthDenied],
    );
    Ok(())
}

/// Every image of the mirror by each tag and by digest, with each Accept list; HEAD of the
/// first; an unknown tag and an unknown repository.
async fn manifests(
    session: &mut Session<'_>,
    puller: &Puller,
    base: &Registry,
) -> Result<(), CheckError> {
    let mut references = Vec::new();
    for repository in base.repositories() {
        let name = repository.name.to_string();
        for tag in repository.tags.keys() {
            references.push((name.clone(), Reference::Tag(tag.to_string())));
        }
        if session.put_digests == PutDigests::Content {
            for digest in repository.images.keys() {
                references.push((name.clone(), Reference::Digest(digest.to_string())));
            }
        }
        references.push((name.clone(), Reference::Tag("no-such-tag".into())));
        // A malformed digest: 400 with a distribution code, or 404 (may).
        references.push((name.clone(), Reference::Digest("sha256:bad".into())));
    }
    if let Some(first) = base.repositories().next() {
        references.push((
            format!("{}-absent", first.name),
            Reference::Tag("v1".into()),
        ));
    }
    let mut headed = false;
    for (name, reference) in &references {
        for accept in ACCEPTS {
            let url = format!("{}/v2/{name}/manifests/{}", puller.base, reference.as_str());
            let mut headers = vec![("authorization", puller.authorization.clone())];
            headers.extend(accept.iter().map(|t| ("accept", (*t).to_owned())));
            let get = fetch(session, "GET", &url, &headers).await?;
            let request = manifest_request(name, reference, &judged_accept(accept, &get));
            let expected = batch_get_image(base, &request);
            let mut rules = vec![RuleId::RegManifestAsBatchgetimage, RuleId::RegDigestHeader];
            rules.push(match reference {
                Reference::Tag(_) => RuleId::RegAcceptNegotiation,
                Reference::Digest(_) => RuleId::RegAcceptByDigest,
            });
            if get.status != 200 {
                rules.extend([
                    RuleId::RegErrorEnvelope,
                    RuleId::RegManifestUnknown,
                    RuleId::RegNameUnknown,
                ]);
            }
            let violations = check_manifest(&expected, &request, &observed(&get));
            let probe = RegistryProbe::Manifest {
                name,
                reference,
                accept,
            };
            session.covered.record_registry(base, probe);
            let exercised: Vec<RuleId> = rules
                .into_iter()
                .filter(|r| exercised_by(*r, &get, name))
                .collect();
            judge(
                session,
                &format!("registry GET {name}:{}", reference.as_str()),
                &get,
                violations,
                &exercised,
            );
            if get.status == 200 && !headed {
                headed = true;
                let head = fetch(session, "HEAD", &url, &headers).await?;
                judge(
                    session,
                    "registry HEAD of a manifest",
                    &head,
                    check_head(&observed(&get), &observed(&head)),
                    &[RuleId::RegManifestHead],
                );
                session
                    .covered
                    .record_registry(base, RegistryProbe::ManifestHead);
            }
        }
    }
    Ok(())
}

/// The media types a GET with `accept` lines stands for, as the registry API reads them
/// (every line and comma entry, `q=0` refused). Without `Accept`, a schema 1 translation is
/// as acceptable as the stored manifest (section 2, a legacy client): one answered as S1 is
/// judged as the BatchGetImage that accepts S1 alone.
fn judged_accept(accept: &[&str], get: &Fetched) -> Vec<String> {
    let mut headers = http::HeaderMap::new();
    for line in accept {
        if let Ok(value) = http::HeaderValue::from_str(line) {
            headers.append(http::header::ACCEPT, value);
        }
    }
    let answered = get
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(crate::model::Format::of);
    match (accept.is_empty(), answered) {
        (true, Some(crate::model::Format::S1)) => vec![S1.to_owned()],
        _ => accepted_media_types(&headers).unwrap_or_default(),
    }
}

/// Whether a manifest GET exercised `rule`: the error rules only for the error they are about.
fn exercised_by(rule: RuleId, get: &Fetched, name: &str) -> bool {
    match rule {
        RuleId::RegNameUnknown => name.ends_with("-absent"),
        RuleId::RegManifestUnknown => {
            !name.ends_with("-absent") && get.request.ends_with("/no-such-tag")
        }
        _ => true,
    }
}

/// Every blob the mirror's manifests name (uploaded when the server has a layer API), and
/// one nobody uploaded.
async fn blobs(
    session: &mut Session<'_>,
    puller: &Puller,
    base: &Registry,
) -> Result<(), CheckError> {
    let auth = [("authorization", puller.authorization.clone())];
    let mut any = None;
    if session.layer_api != Some(true) {
        session
            .notes
            .push("REG-BLOB-BYTES not exercised: the server has no layer upload API".into());
    }
    for repository in base.repositories() {
        let uploaded = session.layer_api == Some(true);
        let digests: BTreeSet<String> = repository
            .images
            .values()
            .flat_map(|i| i.manifest.contents.blobs().map(str::to_owned))
            .filter(|_| uploaded)
            .collect();
        for digest in &digests {
            let url = format!("{}/v2/{}/blobs/{digest}", puller.base, repository.name);
            let blob = fetch(session, "GET", &url, &auth).await?;
            judge(
                session,
                "registry GET of a blob",
                &blob,
                check_blob(digest, &observed(&blob)),
                &[RuleId::RegBlobBytes],
            );
            let head = fetch(session, "HEAD", &url, &auth).await?;
            judge(
                session,
                "registry HEAD of a blob",
                &head,
                check_blob_head(digest, &observed(&head)),
                &[RuleId::RegBlobHead],
            );
            for probe in [RegistryProbe::Blob, RegistryProbe::BlobHead] {
                session.covered.record_registry(base, probe);
            }
        }
        any.get_or_insert_with(|| repository.name.to_string());
    }
    if let Some(name) = any {
        let absent = ImageDigest::of(b"ecr-contract: a blob nobody uploaded");
        let url = format!("{}/v2/{name}/blobs/{absent}", puller.base);
        let blob = fetch(session, "GET", &url, &auth).await?;
        judge(
            session,
            "registry GET of an unknown blob",
            &blob,
            check_blob_unknown(&observed(&blob)),
            &[RuleId::RegBlobUnknown],
        );
        session
            .covered
            .record_registry(base, RegistryProbe::BlobUnknown);
    }
    Ok(())
}

/// `tags/list` of every repository, following `Link`: one tag a page, and without `n`; each
/// page within its size (REG-TAGS-LIMITS); and an `n` over the limit, once.
async fn tags(
    session: &mut Session<'_>,
    puller: &Puller,
    base: &Registry,
) -> Result<(), CheckError> {
    let auth = [("authorization", puller.authorization.clone())];
    for repository in base.repositories() {
        let name = repository.name.to_string();
        let want: BTreeSet<String> = repository.tags.keys().map(ToString::to_string).collect();
        for n in [Some(1), None] {
            let size = n.map(|n| format!("?n={n}")).unwrap_or_default();
            let url = format!("{}/v2/{name}/tags/list{size}", puller.base);
            let (pages, last) = tag_pages(session, puller, url).await?;
            let Some(last) = last else { continue };
            let probe = format!("registry tags/list{size} of {name}");
            judge(
                session,
                &probe,
                &last,
                check_tags(&name, &want, &pages),
                &[RuleId::RegTagsList],
            );
            let limits = pages.iter().flat_map(|p| check_tags_limit(n, p)).collect();
            judge(session, &probe, &last, limits, &[RuleId::RegTagsLimits]);
            session
                .covered
                .record_registry(base, RegistryProbe::Tags(n));
        }
    }
    if let Some(repository) = base.repositories().min_by_key(|r| r.name.as_str()) {
        let n = TAGS_MAX_N + 1;
        let url = format!("{}/v2/{}/tags/list?n={n}", puller.base, repository.name);
        let over = fetch(session, "GET", &url, &auth).await?;
        judge(
            session,
            &format!("registry tags/list?n={n}"),
            &over,
            check_tags_limit(Some(n), &observed(&over)),
            &[RuleId::RegTagsLimits],
        );
        session
            .covered
            .record_registry(base, RegistryProbe::Tags(Some(n)));
    }
    Ok(())
}

/// The pages of `tags/list` from `url` on, following `Link rel="next"` (at most
/// [`MAX_PAGES`]), and the last exchange.
async fn tag_pages(
    session: &mut Session<'_>,
    puller: &Puller,
    mut url: String,
) -> Result<(Vec<PullObserved>, Option<Fetched>), CheckError> {
    let auth = [("authorization", puller.authorization.clone())];
    let mut pages = Vec::new();
    let mut last = None;
    while pages.len() < MAX_PAGES {
        let page = fetch(session, "GET", &url, &auth).await?;
        let next = page
            .headers
            .get("link")
            .and_then(|v| v.to_str().ok())
            .and_then(next_link)
            .map(|link| absolute(&puller.base, link));
        pages.push(observed(&page));
        last = Some(page);
        match next {
            Some(next) if pages.last().is_some_and(|p| p.status == 200) => url = next,
            _ => break,
        }
    }
    Ok((pages, last))
}

/// A `Link` target, relative to the registry's base URL or absolute.
fn absolute(base: &str, link: &str) -> String {
    match link.starts_with('/') {
        true => {
            let origin = base
                .find("://")
                .and_then(|at| base[at + 3..].find('/').map(|p| &base[..at + 3 + p]));
            format!("{}{link}", origin.unwrap_or(base))
        }
        false => link.to_owned(),
    }
}

/// REG-SAME-STATE, read before and after each write: a tag absent before PutImage is pulled
/// at once after it; moved with PutImage to another image, it is pulled as that image at
/// once; deleted with BatchDeleteImage, it is `404` at once, while the image it last named is
/// still pulled by its digest (its other tags keep it: the mirror still holds).
async fn same_state(
    session: &mut Session<'_>,
    puller: &Puller,
    base: &Registry,
) -> Result<(), CheckError> {
    // The repositories and their tagged images in a fixed order (the state's maps have
    // none), so that every run probes alike: one with two images, to move the tag, if any.
    let tagged = |r: &crate::model::StoredRepository| -> Vec<crate::model::StoredImage> {
        let mut images: Vec<_> = r
            .images
            .iter()
            .filter(|(_, i)| !i.tags.is_empty())
            .collect();
        images.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        images.into_iter().map(|(_, i)| i.clone()).collect()
    };
    let mut candidates: Vec<(String, Vec<crate::model::StoredImage>)> = base
        .repositories()
        .map(|r| (r.name.to_string(), tagged(r)))
        .filter(|(_, images)| !images.is_empty())
        .collect();
    candidates.sort_by(|a, b| (a.1.len() < 2, &a.0).cmp(&(b.1.len() < 2, &b.0)));
    let Some((name, images)) = candidates.into_iter().next() else {
        return Ok(());
    };
    let tag = "ecr-contract-pull";
    let url = format!("{}/v2/{name}/manifests/{tag}", puller.base);
    let auth = ("authorization", puller.authorization.clone());
    let before = fetch(session, "GET", &url, std::slice::from_ref(&auth)).await?;
    judge(
        session,
        "registry GET of a tag before PutImage",
        &before,
        check_gone_after_delete(&observed(&before)),
        &[RuleId::RegSameState],
    );
    // The first image, then (a move) another one, when the repository has two.
    let targets = images
        .iter()
        .take(super::plan::REGISTRY_PROBE_PUSHES as usize)
        .collect::<Vec<_>>();
    for (step, image) in targets.iter().enumerate() {
        if !put_tag(session, &name, tag, image).await? {
            return Ok(());
        }
        let headers = [
            auth.clone(),
            ("accept", image.manifest.media_type.to_string()),
        ];
        let after = fetch(session, "GET", &url, &headers).await?;
        let probe = match step {
            0 => "registry GET right after PutImage",
            _ => "registry GET right after a tag move",
        };
        judge(
            session,
            probe,
            &after,
            check_visible_after_put(&image.manifest.bytes, &observed(&after)),
            &[RuleId::RegSameState],
        );
    }
    let delete = Call::BatchDeleteImage(wire::BatchDeleteImageRequest {
        repository_name: Some(name.clone()),
        image_ids: Some(vec![wire::ImageIdentifier::tag(tag)]),
        ..Default::default()
    });
    let exchange = session.send_call(&delete).await?;
    if exchange.status != 200 {
        return Ok(());
    }
    let after_delete = fetch(session, "GET", &url, std::slice::from_ref(&auth)).await?;
    judge(
        session,
        "registry GET right after BatchDeleteImage",
        &after_delete,
        check_gone_after_delete(&observed(&after_delete)),
        &[RuleId::RegSameState],
    );
    session
        .covered
        .record_registry(base, RegistryProbe::AfterWrite);
    if let Some(last) = targets.last()
        && session.put_digests == PutDigests::Content
    {
        let by_digest = format!(
            "{}/v2/{name}/manifests/{}",
            puller.base, last.manifest.digest
        );
        let headers = [auth, ("accept", last.manifest.media_type.to_string())];
        let kept = fetch(session, "GET", &by_digest, &headers).await?;
        judge(
            session,
            "registry GET by digest of an image whose tag was deleted",
            &kept,
            check_visible_after_put(&last.manifest.bytes, &observed(&kept)),
            &[RuleId::RegSameState],
        );
    }
    Ok(())
}

/// Puts `image`'s manifest under `tag`; `false` (with a note) when the server refuses.
async fn put_tag(
    session: &mut Session<'_>,
    name: &str,
    tag: &str,
    image: &crate::model::StoredImage,
) -> Result<bool, CheckError> {
    let put = Call::PutImage(wire::PutImageRequest {
        repository_name: Some(name.to_owned()),
        image_tag: Some(tag.to_owned()),
        image_manifest: Some(image.manifest.bytes.to_string()),
        image_manifest_media_type: Some(image.manifest.media_type.to_string()),
        ..Default::default()
    });
    let exchange = session.send_call(&put).await?;
    if exchange.status != 200 {
        session.notes.push(format!(
            "REG-SAME-STATE partly exercised: PutImage of tag {tag} answered HTTP {}",
            exchange.status
        ));
    }
    Ok(exchange.status == 200)
}

async fn fetch(
    session: &mut Session<'_>,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
) -> Result<Fetched, TransportError> {
    session.probes += 1;
    let fetched = session.target.fetch(method, url, headers).await?;
    // A redirect not followed still names its pre-signed URL.
    for location in fetched.headers.get_all("location") {
        session
            .secrets
            .learn_signed_urls(&String::from_utf8_lossy(location.as_bytes()));
    }
    Ok(fetched)
}

pub(super) fn observed(fetched: &Fetched) -> PullObserved {
    PullObserved {
        status: fetched.status,
        headers: fetched.headers.clone(),
        body: fetched.body.clone(),
    }
}

/// Marks `rules` exercised and records `violations` with the exchange (the push probes' too).
pub(super) fn judge(
    session: &mut Session<'_>,
    probe: &str,
    fetched: &Fetched,
    violations: Vec<Violation>,
    rules: &[RuleId],
) {
    session.exercised.extend(rules.iter().copied());
    for violation in violations {
        session.exercised.insert(violation.rule);
        let body = session.secrets.evidence(&fetched.body);
        let request = session.secrets.redact(&fetched.request);
        let url = request.split_once(' ').map_or("", |(_, u)| u);
        let curl = format!(
            "curl -sS -u \"AWS:$PASSWORD\" -X {} '{url}'",
            request.split(' ').next().unwrap_or("GET")
        );
        let violation = session.secrets.redact_violation(violation);
        session.findings.push(Finding {
            message: violation.to_string(),
            violation,
            probe: session.secrets.redact(probe),
            request,
            response: Response {
                status: fetched.status,
                body,
            },
            reproduction: Reproduction { curl, aws: None },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::registry_url;

    #[test]
    fn the_registry_of_an_ecr_endpoint_is_the_accounts_dkr_host_and_of_others_the_endpoint() {
        assert_eq!(
            registry_url(
                "https://api.ecr.eu-west-1.amazonaws.com/",
                None,
                "123456789012"
            ),
            "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            registry_url("http://127.0.0.1:5000/", None, "123456789012"),
            "http://127.0.0.1:5000"
        );
        assert_eq!(
            registry_url(
                "https://api.ecr.eu-west-1.amazonaws.com",
                Some("http://r:1/"),
                "1"
            ),
            "http://r:1"
        );
    }
}
