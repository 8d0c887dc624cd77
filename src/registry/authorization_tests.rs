//! What each caller may do: roles are checked before anything is looked up, and outside its
//! scope a model does not exist for a caller.

use bytes::Bytes;

use super::Registry;
use super::testing::{registry, spec};
use crate::domain::{
    Caller, Error, Etag, ListQuery, ListQueryDraft, ModelRef, NamePattern, PageSize, Patch,
    Principal, RegistrationId, Role, Scope, UploadSpec,
};

fn consumer(role: Role, patterns: &[&str]) -> Caller {
    Caller {
        principal: Principal::Named("consumer".into()),
        role,
        scope: Scope::Only(
            patterns
                .iter()
                .map(|p| NamePattern::parse(p).unwrap())
                .collect(),
        ),
        via: None,
    }
}

fn upload_to(model: ModelRef) -> UploadSpec {
    UploadSpec {
        model,
        sha256: None,
        size_bytes: None,
        filename: "m".into(),
        content_type: "application/octet-stream".into(),
    }
}

fn bytes() -> impl futures::Stream<Item = crate::domain::Result<Bytes>> + Send + 'static {
    futures::stream::iter([Ok(Bytes::from_static(b"weights"))])
}

/// The reason and message of an error, as a client would compare them.
fn answer(err: Error) -> (String, String) {
    let reason = err.reason().to_owned();
    (reason, err.to_string())
}

async fn names(registry: &Registry, caller: &Caller, page_size: i32) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let draft = ListQueryDraft {
            page_size,
            ..ListQueryDraft::default()
        };
        let query = ListQuery::parse(draft, after).unwrap();
        let (page, _) = registry.list(caller, query).await.unwrap();
        pages.push(
            page.items
                .iter()
                .map(|r| r.spec.name.as_str().to_owned())
                .collect(),
        );
        match page.next {
            Some(next) => after = Some(next),
            None => return pages,
        }
    }
}

#[tokio::test]
async fn roles_are_checked_before_anything_is_looked_up() {
    let folder = tempfile::tempdir().unwrap();
    let registry = registry(folder.path()).await;
    let reader = consumer(Role::Reader, &["*"]);
    let writer = consumer(Role::Writer, &["*"]);
    let missing = RegistrationId::generate();

    let refused = registry.register(&reader, spec("qoe"), None).await;
    assert_eq!(refused.unwrap_err().reason(), "ROLE_TOO_LOW");
    let refused = registry
        .update(&reader, missing, None, Patch::default())
        .await;
    assert_eq!(refused.unwrap_err().reason(), "ROLE_TOO_LOW");
    let refused = registry.delete(&writer, missing, None).await;
    assert_eq!(refused.unwrap_err().reason(), "ROLE_TOO_LOW");
    let refused = registry
        .upload(&reader, upload_to(ModelRef::Id(missing)), bytes())
        .await;
    assert_eq!(refused.unwrap_err().reason(), "ROLE_TOO_LOW");

    let registered = registry.register(&writer, spec("qoe"), None).await.unwrap();
    assert!(registry.get(&reader, registered.id).await.is_ok());
    registry
        .upload(&writer, upload_to(ModelRef::Id(registered.id)), bytes())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_model_outside_the_scope_is_not_found_exactly_as_a_missing_one() {
    let folder = tempfile::tempdir().unwrap();
    let registry = registry(folder.path()).await;
    let admin = Caller::anonymous_admin();
    let scoped = consumer(Role::Admin, &["qoe-*"]);
    let unseen = registry
        .register(&admin, spec("other"), None)
        .await
        .unwrap();
    let missing = RegistrationId::generate();
    // The same answer but for the id, which the client sent.
    let same = |seen: Error, absent: Error| {
        let (reason, message) = answer(seen);
        let (absent_reason, absent_message) = answer(absent);
        assert_eq!(reason, absent_reason);
        assert_eq!(
            message.replace(&unseen.id.to_string(), "ID"),
            absent_message.replace(&missing.to_string(), "ID")
        );
    };

    same(
        registry.get(&scoped, unseen.id).await.unwrap_err(),
        registry.get(&scoped, missing).await.unwrap_err(),
    );
    // A wrong etag does not tell an unseen model from a missing one either.
    let wrong = Some(Etag::generate());
    same(
        registry
            .update(&scoped, unseen.id, wrong.clone(), Patch::default())
            .await
            .unwrap_err(),
        registry
            .update(&scoped, missing, wrong.clone(), Patch::default())
            .await
            .unwrap_err(),
    );
    same(
        registry
            .delete(&scoped, unseen.id, wrong.clone())
            .await
            .unwrap_err(),
        registry.delete(&scoped, missing, wrong).await.unwrap_err(),
    );
    same(
        registry
            .upload(&scoped, upload_to(ModelRef::Id(unseen.id)), bytes())
            .await
            .unwrap_err(),
        registry
            .upload(&scoped, upload_to(ModelRef::Id(missing)), bytes())
            .await
            .unwrap_err(),
    );
    same(
        registry
            .list_artifacts(
                &scoped,
                ModelRef::Id(unseen.id),
                None,
                PageSize::parse(0).unwrap(),
            )
            .await
            .unwrap_err(),
        registry
            .list_artifacts(
                &scoped,
                ModelRef::Id(missing),
                None,
                PageSize::parse(0).unwrap(),
            )
            .await
            .unwrap_err(),
    );
    // The unseen model is still there for those who may see it.
    assert!(registry.get(&admin, unseen.id).await.is_ok());
}

#[tokio::test]
async fn naming_a_model_outside_the_scope_is_refused_whether_or_not_it_exists() {
    let folder = tempfile::tempdir().unwrap();
    let registry = registry(folder.path()).await;
    let admin = Caller::anonymous_admin();
    let scoped = consumer(Role::Writer, &["qoe-*"]);
    let taken = registry
        .register(&admin, spec("other"), None)
        .await
        .unwrap();

    for name in ["other", "never-registered"] {
        let refused = registry.register(&scoped, spec(name), None).await;
        assert_eq!(
            refused.unwrap_err().reason(),
            "MODEL_OUT_OF_SCOPE",
            "{name}"
        );
        let by_name = ModelRef::NameVersion(spec(name).name.clone(), taken.spec.version.clone());
        let refused = registry.upload(&scoped, upload_to(by_name), bytes()).await;
        assert_eq!(
            refused.unwrap_err().reason(),
            "MODEL_OUT_OF_SCOPE",
            "{name}"
        );
    }
    assert!(
        registry
            .register(&scoped, spec("qoe-a"), None)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn scoped_lists_hold_full_pages_of_visible_models_only() {
    let folder = tempfile::tempdir().unwrap();
    let registry = registry(folder.path()).await;
    let admin = Caller::anonymous_admin();
    for i in 0..12 {
        for name in [
            format!("qoe-{i:02}"),
            format!("other-{i:02}"),
            format!("QOE-{i:02}"),
            format!("ran-team/{i:02}"),
            format!("ran_team/{i:02}"),
        ] {
            registry.register(&admin, spec(&name), None).await.unwrap();
        }
    }

    let scoped = consumer(Role::Reader, &["qoe-*", "ran_team/*"]);
    let pages = names(&registry, &scoped, 5).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [5, 5, 5, 5, 4], "{pages:?}");
    let seen: Vec<String> = pages.concat();
    assert!(
        seen.iter()
            .all(|n| n.starts_with("qoe-") || n.starts_with("ran_team/")),
        "{seen:?}"
    );
    assert_eq!(seen.len(), 24);

    let nothing = consumer(Role::Reader, &[]);
    assert_eq!(names(&registry, &nothing, 5).await, [Vec::<String>::new()]);
    let everything = names(&registry, &Caller::anonymous_admin(), 1000).await;
    assert_eq!(everything.concat().len(), 60);
}
