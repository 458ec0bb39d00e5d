//! The rule catalogue of the contract (`docs/contract/batch-get-image.md` section 9,
//! `docs/contract/registry-api.md` section 7), as data. Ids and levels are the spec's, exactly.

use std::fmt;

/// How binding a rule is (spec preamble).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Inferred, or one of several plausible behaviours: reported, never failed.
    May,
    /// Stated by an independent re-implementation or by AWS examples.
    Should,
    /// Stated by a primary source.
    Must,
}

impl Level {
    /// `must`, `should` or `may`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
            Level::May => "may",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule: its id, level, statement and evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    /// The stable id, such as `ID-BY-TAG`.
    pub id: RuleId,
    /// Its level.
    pub level: Level,
    /// The rule in one line.
    pub statement: &'static str,
    /// Where the evidence comes from.
    pub source: &'static str,
}

macro_rules! catalogue {
    ($( $variant:ident = $id:literal, $level:ident, $statement:literal, $source:literal; )*) => {
        /// A rule id of the catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum RuleId {
            $( #[doc = concat!("`", $id, "`: ", $statement)] $variant, )*
        }

        /// Every rule, in the spec's order.
        pub const RULES: &[Rule] = &[
            $( Rule { id: RuleId::$variant, level: Level::$level, statement: $statement, source: $source }, )*
        ];

        impl RuleId {
            /// The id as the spec spells it.
            pub fn as_str(self) -> &'static str {
                match self { $( RuleId::$variant => $id, )* }
            }

            /// The rule with the id `s`, if there is one.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $( $id => Some(RuleId::$variant), )* _ => None }
            }
        }
    };
}

catalogue! {
    WireStatus = "WIRE-STATUS", Must,
        "success is HTTP 200 with a JSON object body; errors are 400, or 500 for ServerException",
        "Smithy awsJson1_1 protocol; real 400s for RepositoryNotFoundException and InvalidParameterException";
    WireContentType = "WIRE-CONTENT-TYPE", Should,
        "responses carry `Content-Type: application/x-amz-json-1.1`",
        "Smithy awsJson1_1 (servers MUST send it; clients do not check)";
    WireErrorCode = "WIRE-ERROR-CODE", Must,
        "an error names a modelled or common AWS error, recognisable by the Smithy rules",
        "Smithy awsJson1_1 error parsing and its protocol tests; AWS service model";
    WireErrorBodyType = "WIRE-ERROR-BODY-TYPE", Should,
        "the error name is in the body's `__type` (what botocore reads)",
        "botocore parsers.py (_do_error_parse)";
    WireErrorMessage = "WIRE-ERROR-MESSAGE", Should,
        "the error body has a string `message` (or `Message`)",
        "AWS service model (error shapes); botocore parsers.py";
    WireShape = "WIRE-SHAPE", Must,
        "every member present has its modelled JSON type; enums hold modelled values",
        "AWS service model for ECR 2015-09-21";
    WireBothLists = "WIRE-BOTH-LISTS", Should,
        "a success body has both `images` and `failures`",
        "every AWS example of BatchGetImage";
    WireUnknownMember = "WIRE-UNKNOWN-MEMBER", May,
        "members the model does not define (reported, never failed)",
        "AWS service model for ECR 2015-09-21";
    ValRegistryId = "VAL-REGISTRY-ID", Must,
        "a malformed `registryId` gives InvalidParameterException",
        "a real BatchGetImage response";
    ValRepoName = "VAL-REPO-NAME", Should,
        "a too-short, too-long or badly formed name gives InvalidParameterException",
        "real CreateRepository response (too short); service model constraints";
    ValImageIdsCount = "VAL-IMAGE-IDS-COUNT", Should,
        "0 or more than 100 ids gives InvalidParameterException",
        "real response for the same list shape on BatchDeleteImage";
    ValTagLength = "VAL-TAG-LENGTH", Should,
        "an empty tag or one over 300 characters gives InvalidParameterException",
        "service model constraint";
    ValMediaTypesCount = "VAL-MEDIA-TYPES-COUNT", Should,
        "0 or more than 100 accepted media types gives InvalidParameterException",
        "service model constraint";
    ValMalformed = "VAL-MALFORMED", Should,
        "a body that is not JSON, or a missing required member, gives a 4xx validation or serialization error (InvalidParameterException, SerializationException, ValidationException)",
        "Smithy awsJson1_1; LocalStack and moto tests";
    RepoNotFound = "REPO-NOT-FOUND", Must,
        "a valid name that does not exist gives RepositoryNotFoundException",
        "Amazon ECR API Reference (BatchGetImage); real responses";
    RepoForeignRegistry = "REPO-FOREIGN-REGISTRY", Should,
        "another account's registry id does not find the caller's repository (RepositoryNotFoundException or AccessDeniedException)",
        "Amazon ECR API Reference (registryId); LocalStack and moto tests";
    RepoEcho = "REPO-ECHO", Must,
        "images carry the resolved `registryId` and the requested `repositoryName`",
        "AWS examples (Amazon ECR API Reference, BatchGetImage)";
    IdAccounting = "ID-ACCOUNTING", Must,
        "each requested id answered by images or by exactly one failure, not both; nothing unrequested",
        "AWS examples; awslabs/amazon-ecr-containerd-resolver";
    IdByTag = "ID-BY-TAG", Must,
        "a tag resolves to the image it points at; `imageId` = requested tag + that digest",
        "Amazon ECR API Reference (BatchGetImage, ImageIdentifier)";
    IdByDigest = "ID-BY-DIGEST", Must,
        "a digest resolves to that image; tags in the answer belong to it",
        "Amazon ECR API Reference (BatchGetImage, ImageIdentifier)";
    IdTagAndDigest = "ID-TAG-AND-DIGEST", Must,
        "tag and digest must agree: no image when the tag points elsewhere",
        "awslabs/amazon-ecr-containerd-resolver (tag+digest requests)";
    IdMismatchCode = "ID-MISMATCH-CODE", Should,
        "a tag/digest disagreement fails with ImageTagDoesNotMatchDigest (ImageNotFound accepted)",
        "AWS service model (ImageFailureCode); LocalStack and moto tests";
    IdNotFound = "ID-NOT-FOUND", Should,
        "an absent tag or digest fails with ImageNotFound",
        "LocalStack and moto tests; Amazon ECR API Reference (ImageFailure)";
    IdMissingBoth = "ID-MISSING-BOTH", Should,
        "`{}` fails with MissingDigestAndTag",
        "LocalStack and moto tests; AWS service model (ImageFailureCode)";
    IdInvalidDigest = "ID-INVALID-DIGEST", Should,
        "a malformed digest fails with InvalidImageDigest (or the whole request with InvalidParameterException)",
        "LocalStack and moto tests; AWS service model (LayerDigest pattern)";
    IdInvalidTag = "ID-INVALID-TAG", May,
        "a tag with characters outside `[a-zA-Z0-9-_.]` fails with InvalidImageTag or ImageNotFound",
        "inferred from the ImageFailureCode enum (trigger undocumented)";
    IdFailureEcho = "ID-FAILURE-ECHO", Should,
        "a failure's `imageId` echoes exactly what was sent",
        "AWS examples; LocalStack and moto tests";
    IdFailureCode = "ID-FAILURE-CODE", Must,
        "`failureCode` is a modelled enum value",
        "AWS service model (ImageFailureCode)";
    IdFailureReason = "ID-FAILURE-REASON", Should,
        "`failureReason` is present",
        "AWS examples (Amazon ECR API Reference, ImageFailure)";
    IdCase = "ID-CASE", Should,
        "tags match case-sensitively",
        "LocalStack and moto tests; Docker tag semantics";
    ManDigest = "MAN-DIGEST", Must,
        "`sha256(imageManifest)` equals `imageDigest` for untranslated manifests",
        "aws/aws-cli #6234 (digest over exact bytes); Amazon ECR User Guide";
    ManBytes = "MAN-BYTES", Must,
        "an untranslated manifest is byte-identical to what was pushed",
        "aws/aws-cli #6234; aws/containers-roadmap #1075";
    ManMediaType = "MAN-MEDIA-TYPE", Should,
        "`imageManifestMediaType` is present and is the pushed type (or the translated-to type)",
        "current ECR responses (older ones omitted it)";
    ManNoTranslationByDigest = "MAN-NO-TRANSLATION-BY-DIGEST", Must,
        "by digest, the manifest is never translated",
        "Amazon ECR User Guide; aws/containers-roadmap #1075";
    ManAcceptedStored = "MAN-ACCEPTED-STORED", Must,
        "when the stored type is accepted, it is returned as stored",
        "Amazon ECR User Guide (image manifest format support)";
    ManTranslation = "MAN-TRANSLATION", Should,
        "by tag, the translation table of section 5 holds, and a translation keeps config and layers",
        "Amazon ECR User Guide (image manifest format support table)";
    StateReadAfterPut = "STATE-READ-AFTER-PUT", Must,
        "after PutImage, BatchGetImage by that tag returns the new manifest",
        "Amazon ECR API Reference (PutImage)";
    StateRetag = "STATE-RETAG", Must,
        "a second tag on the same manifest resolves to the same digest",
        "Amazon ECR User Guide (retagging an image)";
    StateTagMove = "STATE-TAG-MOVE", Should,
        "a moved tag resolves to the new image; the old one is still there by digest",
        "LocalStack and moto tests; Amazon ECR User Guide (tag mutability)";
    StateDelete = "STATE-DELETE", Must,
        "deleted digests and their former tags fail with ImageNotFound",
        "Amazon ECR API Reference (BatchDeleteImage)";
    StatePutDigest = "STATE-PUT-DIGEST", Must,
        "PutImage reports `sha256(manifest)` as the digest",
        "Amazon ECR API Reference (PutImage); aws/aws-cli #6234";
    RobustNo5xx = "ROBUST-NO-5XX", Must,
        "no 5xx and no HTML for any BatchGetImage request the client could have caused (setup operations a server does not implement are adapted to, not judged)",
        "Smithy awsJson1_1 (client errors are 4xx)";
    RobustAuth = "ROBUST-AUTH", May,
        "a request with a missing or wrong SigV4 signature is refused with a 4xx auth error (400 UnrecognizedClientException / InvalidSignatureException / MissingAuthenticationTokenException, or 403 AccessDeniedException); reported, and enforced only when asked",
        "public reports of ECR answers to unsigned and mis-signed requests";
    RegPing = "REG-PING", Must,
        r#"`GET /v2/` with valid credentials is `200` with `Docker-Distribution-Api-Version: registry/2.0`"#,
        "distribution spec (API version check); real ECR transcripts (oras-project/oras-go#237)";
    RegAuthChallenge = "REG-AUTH-CHALLENGE", Must,
        r#"no credentials: `401` with ECR's Basic challenge (realm and service as above)"#,
        "real ECR answers quoted in mayflower/docker-ls#28 and oras-project/oras-go#224";
    RegAuthToken = "REG-AUTH-TOKEN", Must,
        r#"the GetAuthorizationToken token (base64 `AWS:<password>`, 12 h) is accepted as Basic"#,
        "Amazon ECR API Reference (AuthorizationData); User Guide (registry authentication)";
    RegAuthDenied = "REG-AUTH-DENIED", Should,
        r#"an expired or invalid token: `403` `DENIED`, no challenge"#,
        "real ECR answers quoted in flipt-io/flipt#3043";
    RegManifestAsBatchgetimage = "REG-MANIFEST-AS-BATCHGETIMAGE", Must,
        r#"GET body and `Content-Type` equal BatchGetImage's `imageManifest` and `imageManifestMediaType` for the same reference and Accept list"#,
        "Amazon ECR API Reference (BatchGetImage); awslabs/amazon-ecr-containerd-resolver";
    RegAcceptNegotiation = "REG-ACCEPT-NEGOTIATION", Must,
        r#"by tag: stored format if accepted, else the translation table; every Accept line counts"#,
        "Amazon ECR User Guide (container image manifest format support)";
    RegAcceptByDigest = "REG-ACCEPT-BY-DIGEST", Must,
        r#"by digest: never a translation"#,
        "Amazon ECR User Guide; aws/containers-roadmap #1075";
    RegManifestHead = "REG-MANIFEST-HEAD", Must,
        r#"HEAD: `200`, empty body, `Content-Type`, `Content-Length`, `Docker-Content-Digest`"#,
        "a real ECR transcript in oras-project/oras-go#237";
    RegDigestHeader = "REG-DIGEST-HEADER", Must,
        r#"a `Docker-Content-Digest` header, where present, is sha256 of the exact body"#,
        "distribution spec; Docker.Registry.DotNet#34, terraform-provider-docker#186";
    RegManifestUnknown = "REG-MANIFEST-UNKNOWN", Must,
        r#"unknown tag or digest: `404`, `MANIFEST_UNKNOWN`"#,
        "real ECR answers quoted in nginx/docker-nginx#545";
    RegNameUnknown = "REG-NAME-UNKNOWN", Must,
        r#"unknown repository: `404`, `NAME_UNKNOWN`"#,
        "real ECR answers quoted in aws-actions/amazon-ecr-login#166";
    RegErrorEnvelope = "REG-ERROR-ENVELOPE", Should,
        r#"errors other than the 401 that carry a body use `{"errors":[{"code","message"}]}` with a distribution code"#,
        "distribution spec (error codes); real ECR answers in public issues";
    RegBlobBytes = "REG-BLOB-BYTES", Must,
        r#"a blob fetched (directly or through a redirect) hashes to its digest"#,
        "Amazon ECR User Guide (GetDownloadUrlForLayer); amancevice/terraform-aws-custom-ecr-domain#4";
    RegBlobUnknown = "REG-BLOB-UNKNOWN", Must,
        r#"unknown blob: `404`"#,
        "distribution spec; real ECR answers";
    RegBlobHead = "REG-BLOB-HEAD", Should,
        r#"HEAD of a blob: `200` with `Docker-Content-Digest` equal to the digest"#,
        "real ECR answers (weak evidence); distribution spec";
    RegTagsList = "REG-TAGS-LIST", Must,
        r#"tags/list body `{"name","tags"}`, every tag reachable by following `Link` `rel="next"`"#,
        "Amazon ECR User Guide (curl example); deitch/docker_registry2#34; google/go-containerregistry#681";
    RegTagsLimits = "REG-TAGS-LIMITS", Should,
        r#"tags/list pages hold at most 100 tags without `n`, and `n` above 1000 is refused with a 4xx"#,
        "Amazon ECR User Guide (curl example); deitch/docker_registry2#34; google/go-containerregistry#681";
    RegSameState = "REG-SAME-STATE", Must,
        r#"writes through either API are visible through both, at once"#,
        "one store behind both APIs (Amazon ECR User Guide: BatchGetImage on pull)";
    RegPushUpload = "REG-PUSH-UPLOAD", Must,
        r#"an upload starts with `202` and a `Location`; chunks that follow each other append (`201` or `202`), and completing with the right digest is `201`, after which the blob fetches back and is `AVAILABLE`"#,
        "containers-roadmap#1970; regclient and tart transcripts; CloudTrail user guide (InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload)";
    RegPushAsEcr = "REG-PUSH-AS-ECR", Should,
        r#"ECR's own answers on the push path: a chunk is answered `201`; chunks under 5 MiB before the last are refused (4xx, nothing stored); completing an upload with no bytes is `400` `BLOB_UPLOAD_INVALID`"#,
        "aws-sdk-net PR #279; containers-roadmap#2831; service quotas (minimum layer part size); CloudTrail (LayerPartTooSmallException)";
    RegPushChunkOrder = "REG-PUSH-CHUNK-ORDER", Must,
        r#"a chunk that does not start where the last ended: `416` `BLOB_UPLOAD_INVALID`"#,
        "real ECR transcripts (First byte of the layer part is N instead of M)";
    RegPushDigest = "REG-PUSH-DIGEST", Must,
        r#"completing with a digest the bytes do not have: `400` (`BLOB_UPLOAD_INVALID`, or `DIGEST_INVALID`), nothing stored"#,
        "real ECR answers, private 2018 and 2023, ECR Public 2023";
    RegPushMount = "REG-PUSH-MOUNT", Must,
        r#"a mount that cannot be made is a `202` upload, never an error"#,
        "AWS announcement 2026-01-20 (BLOB_MOUNTING); containers-roadmap#2860";
    RegPushManifest = "REG-PUSH-MANIFEST", Must,
        r#"a manifest PUT by tag is `201` with `Docker-Content-Digest` = sha256 of the body, and BatchGetImage then returns those exact bytes and that digest"#,
        "distribution spec; aws-cli#6745, aws-sdk#193 (stored verbatim)";
    RegPushManifestType = "REG-PUSH-MANIFEST-TYPE", Should,
        r#"after a registry push, `imageManifestMediaType` is the body's `mediaType`, else the PUT `Content-Type`"#,
        "Amazon ECR User Guide (image manifest formats), inferred";
    RegPushRefused = "REG-PUSH-REFUSED", Must,
        r#"a manifest ECR cannot take (invalid, missing blobs or children, digest reference that does not match) is a 4xx and stores nothing"#,
        "aws-cli#6745; spin#1787; buildkit#5747; PutImage (LayersNotFoundException)";
    RegPushImmutable = "REG-PUSH-IMMUTABLE", Must,
        r#"on an immutable repository, a tag is never moved by a push: `400` (`TAG_INVALID`); the same manifest again succeeds"#,
        "real ECR transcripts (2025 and older); Amazon ECR User Guide (tag mutability)";
    RegPushNameUnknown = "REG-PUSH-NAME-UNKNOWN", Must,
        r#"a push into an absent repository never succeeds and creates nothing"#,
        "containers-roadmap#1970";
    RegPushDelete = "REG-PUSH-DELETE", Should,
        r#"`DELETE` of a manifest by digest removes it from both APIs, and is refused while a manifest list references it"#,
        "Amazon ECR User Guide (deleting with oras)";
}

impl RuleId {
    /// The catalogue entry of this id.
    pub fn rule(self) -> &'static Rule {
        // `RULES` lists the variants in declaration order.
        &RULES[self as usize]
    }

    /// The rule's level.
    pub fn level(self) -> Level {
        self.rule().level
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
