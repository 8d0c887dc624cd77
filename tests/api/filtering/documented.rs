//! The examples of docs/filtering.md, run as the page states them: each filter (and order)
//! finds exactly the models the page says, in its order, one model per page as well as all at
//! once; each rejected filter fails with the error the page quotes.

use crate::common::{Backend, TestServer, violated_fields};

use super::dataset::{cached_and_uncached, find_all, register_examples};

const PAGE: &str = include_str!("../../../docs/filtering.md");

/// One fenced example of the page.
#[derive(Debug, Default)]
struct Example {
    filter: String,
    order_by: String,
    matches: Option<Vec<String>>,
    error: Option<String>,
}

fn examples() -> Vec<Example> {
    let mut examples = Vec::new();
    let mut current: Option<Example> = None;
    for line in PAGE.lines() {
        let line = line.trim_end();
        if line == "```filter-example" || line == "```filter-error" {
            current = Some(Example::default());
        } else if line == "```" {
            if let Some(example) = current.take() {
                examples.push(example);
            }
        } else if let Some(example) = current.as_mut() {
            let (key, value) = line.split_once(": ").expect("a `key: value` line");
            match key {
                "filter" => example.filter = value.to_owned(),
                "order_by" => example.order_by = value.to_owned(),
                "matches" if value == "none" => example.matches = Some(Vec::new()),
                "matches" => {
                    example.matches = Some(value.split(", ").map(str::to_owned).collect());
                }
                "error" => example.error = Some(value.to_owned()),
                other => panic!("unknown line {other:?} in an example"),
            }
        }
    }
    examples
}

pub(super) async fn the_documented_examples_find_what_the_page_says(backend: Backend) {
    let examples = examples();
    assert!(examples.len() >= 20, "{} examples", examples.len());
    // Ordered examples exercise every order: through the cache and through SQL.
    for server in cached_and_uncached(&backend).await {
        register_examples(&server).await;
        check_examples(&server, &examples).await;
        server.stop().await;
    }
}

async fn check_examples(server: &TestServer, examples: &[Example]) {
    for example in examples {
        match (&example.matches, &example.error) {
            (Some(expected), None) => {
                for page_size in [0, 1] {
                    let found = find_all(server, &example.filter, &example.order_by, page_size)
                        .await
                        .unwrap_or_else(|status| panic!("{example:?}: {status:?}"));
                    assert_eq!(&found, expected, "{example:?}, pages of {page_size}");
                }
            }
            (None, Some(error)) => {
                let status = find_all(server, &example.filter, &example.order_by, 0)
                    .await
                    .expect_err("a rejected filter");
                assert_eq!(violated_fields(&status), ["filter"], "{example:?}");
                let details = tonic_types::StatusExt::get_error_details(&status);
                let description = &details.bad_request().unwrap().field_violations[0].description;
                assert!(
                    description.contains(error.as_str()),
                    "{example:?}: {description}"
                );
            }
            _ => panic!("an example needs matches or an error: {example:?}"),
        }
    }
}
