//! The fake forge against Gitea's own OpenAPI 2.0 description (shared/forge/gitea-swagger.v1.json,
//! or `$CCCI_SHARED_DIR/forge/...`): every route in the fake's table is an operation of the spec
//! with that method and path template, every query parameter and body field the fake accepts (which
//! is all the client may send: the fake refuses anything else) is declared, and every answer the
//! fake gives validates against the declared response schema (see `fake_forge::swagger`).

use std::collections::BTreeMap;

use serde_json::Value;
use testbed::fake_forge::swagger::{spec_path, Swagger};
use testbed::fake_forge::{FakeForge, Route, ROUTES};

fn spec() -> Swagger {
    Swagger::load(&spec_path()).unwrap_or_else(|e| panic!("{e} (set CCCI_SHARED_DIR to the shared/ directory)"))
}

#[test]
fn every_route_is_an_operation_of_the_spec() {
    let spec = spec();
    for route in ROUTES {
        assert!(
            spec.operation(route.method, route.path).is_some(),
            "{} {} is not in the spec",
            route.method,
            route.path
        );
        let declared = spec.parameter_names(route.method, route.path, "query");
        for param in route.query {
            assert!(declared.iter().any(|d| d == param), "{}: query parameter {param} not declared", route.name);
        }
        let in_path: Vec<String> = spec.parameter_names(route.method, route.path, "path");
        for segment in route.path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')) {
            assert!(in_path.iter().any(|p| p == segment), "{}: path parameter {segment} not declared", route.name);
        }
        assert!(
            spec.response(route.method, route.path, route.success).is_some(),
            "{}: success status {} not declared",
            route.name,
            route.success
        );
        match (route.body, spec.body_schema(route.method, route.path)) {
            (None, None) => {}
            (Some(definition), Some(schema)) => {
                assert_eq!(
                    schema.get("$ref").and_then(Value::as_str),
                    Some(format!("#/definitions/{definition}").as_str()),
                    "{}: body schema",
                    route.name
                );
            }
            (ours, theirs) => panic!("{}: body {ours:?} vs spec {theirs:?}", route.name),
        }
    }
}

#[test]
fn body_fields_the_fake_accepts_are_declared() {
    let spec = spec();
    // The fake's body types accept exactly these fields (deny_unknown_fields).
    let accepted: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("CreateIssueCommentOption", &["body"][..]),
        ("EditIssueCommentOption", &["body"][..]),
        ("CreateStatusOption", &["state", "target_url", "description", "context"][..]),
        ("EditPullRequestOption", &["state"][..]),
    ]);
    for route in ROUTES.iter().filter(|r| r.body.is_some()) {
        let definition = route.body.unwrap();
        let schema = spec.definition(definition).unwrap_or_else(|| panic!("no definition {definition}"));
        let properties = schema.get("properties").and_then(Value::as_object).unwrap();
        for field in accepted[definition] {
            assert!(properties.contains_key(*field), "{definition}.{field} not declared");
        }
    }
    // The client's status body as it serialises validates against CreateStatusOption.
    let body = serde_json::json!({"state": "pending", "context": "cc-ci", "description": "queued", "target_url": "https://ci.example.org/runs/1"});
    let errors = spec.validate(&serde_json::json!({"$ref": "#/definitions/CreateStatusOption"}), &body);
    assert!(errors.is_empty(), "{errors:?}");
}

/// Drives every route of a populated fake and returns (route, status, JSON body or Null).
async fn exercise(fake: &FakeForge) -> Vec<(&'static Route, u16, Value)> {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let api = fake.api_url();
    let auth = format!("token {}", fake.token());
    let sha = "b".repeat(40);
    let mut out = Vec::new();
    for route in ROUTES {
        let (path, query, body): (String, &[(&str, &str)], Option<Value>) = match route.name {
            "list_pulls" => ("/repos/o/r/pulls".into(), &[("state", "open"), ("page", "1"), ("limit", "50")], None),
            "get_pull" => ("/repos/o/r/pulls/1".into(), &[], None),
            "edit_pull" => ("/repos/o/r/pulls/1".into(), &[], Some(serde_json::json!({"state": "closed"}))),
            "repo_comments" => (
                "/repos/o/r/issues/comments".into(),
                &[("since", "2023-11-14T00:00:00Z"), ("page", "1"), ("limit", "50")],
                None,
            ),
            "issue_comments" => ("/repos/o/r/issues/2/comments".into(), &[("since", "2023-11-14T00:00:00Z")], None),
            "post_comment" => ("/repos/o/r/issues/1/comments".into(), &[], Some(serde_json::json!({"body": "queued"}))),
            "edit_comment" => {
                ("/repos/o/r/issues/comments/{posted}".into(), &[], Some(serde_json::json!({"body": "done"})))
            }
            "org_member" => ("/orgs/org/members/alice".into(), &[], None),
            "org_public_member" => ("/orgs/org/public_members/alice".into(), &[], None),
            "create_status" => (
                format!("/repos/o/r/statuses/{sha}"),
                &[],
                Some(
                    serde_json::json!({"state": "success", "context": "cc-ci", "description": "ok", "target_url": "https://ci.example.org/r/1"}),
                ),
            ),
            "list_tags" => ("/repos/o/r/tags".into(), &[("page", "1"), ("limit", "50")], None),
            other => panic!("the contract test does not exercise route {other}: add it"),
        };
        let path = match fake.posted_comments().first() {
            Some(posted) => path.replace("{posted}", &posted.id.to_string()),
            None => path,
        };
        let method = reqwest::Method::from_bytes(route.method.as_bytes()).unwrap();
        let mut request = http.request(method, format!("{api}{path}")).query(query).header("authorization", &auth);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() };
        out.push((route, status, json));
    }
    out
}

#[tokio::test]
async fn every_answer_validates_against_the_response_schema() {
    let spec = spec();
    let fake = FakeForge::start();
    fake.create_repo("o/r");
    fake.add_pr("o/r", 1, &"a".repeat(40), "feature");
    fake.add_pr("o/r", 3, &"c".repeat(40), "gone");
    fake.delete_pr_head_branch("o/r", 3);
    fake.add_issue("o/r", 2);
    fake.add_comment("o/r", 1, "alice", "!testme", 1_700_000_000);
    fake.add_comment("o/r", 2, "bob", "an issue comment", 1_700_000_001);
    fake.add_tag("o/r", "1.0.0+1.0", &"d".repeat(40), 1_600_000_000);
    fake.set_org_members("org", &["alice"]);
    fake.set_public_members("org", &["alice"]);

    let answers = exercise(&fake).await;
    assert_eq!(answers.len(), ROUTES.len());
    for (route, status, body) in answers {
        assert_eq!(status, route.success, "{}: {body}", route.name);
        let response = spec.response(route.method, route.path, status).unwrap();
        match response.get("schema") {
            Some(schema) => {
                let errors = spec.validate(schema, &body);
                assert!(errors.is_empty(), "{} answer does not match the spec:\n{}", route.name, errors.join("\n"));
                let non_empty = body.as_array().map(|a| !a.is_empty()).unwrap_or(true);
                assert!(non_empty, "{}: exercise it with data so the schema check means something", route.name);
            }
            None => assert!(body.is_null(), "{}: spec declares no body, fake sent {body}", route.name),
        }
    }

    // The 303 of a bot outside the org is a declared answer too.
    fake.set_bot_membership("org", false);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = http
        .get(format!("{}/orgs/org/members/alice", fake.api_url()))
        .header("authorization", format!("token {}", fake.token()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert!(spec.response("GET", "/orgs/{org}/members/{username}", 303).is_some());
}

#[test]
fn the_validator_catches_what_it_claims_to() {
    let spec = spec();
    let comment = serde_json::json!({"$ref": "#/definitions/Comment"});
    let ok = serde_json::json!({"id": 1, "body": "x", "user": {"id": 1, "login": "a"}, "created_at": "2024-01-01T00:00:00Z", "assets": []});
    assert!(spec.validate(&comment, &ok).is_empty());
    let null_user = serde_json::json!({"id": 1, "user": null});
    assert!(spec.validate(&comment, &null_user).is_empty(), "null is accepted for any property");
    let wrong_type = serde_json::json!({"id": "1"});
    assert_eq!(spec.validate(&comment, &wrong_type), ["$.id: expected integer, got \"1\""]);
    let invented = serde_json::json!({"id": 1, "state": "open"});
    assert_eq!(spec.validate(&comment, &invented), ["$.state: property not declared in the schema"]);
    let nested = serde_json::json!({"user": {"login": 5}});
    assert_eq!(spec.validate(&comment, &nested), ["$.user.login: expected string, got 5"]);
    let list = serde_json::json!({"type": "array", "items": {"$ref": "#/definitions/CommitStatus"}});
    let bad_state = serde_json::json!([{"status": "running"}]);
    assert_eq!(spec.validate(&list, &bad_state).len(), 1);
    let bad_time = serde_json::json!({"created_at": "2024-01-01 00:00:00"});
    assert_eq!(spec.validate(&comment, &bad_time).len(), 1);
    let required = serde_json::json!({"$ref": "#/definitions/CreateIssueCommentOption"});
    assert_eq!(spec.validate(&required, &serde_json::json!({})), ["$: required property \"body\" missing"]);
}
