//! Page tokens are sealed with a key every replica of the database shares: a token, or a REST
//! `Link`, shows nothing of the position it holds (the last model's name, which a consumer of
//! narrower scope must not learn), cannot be forged, and continues on another replica.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use modelreg::pb::{self, model_discovery_service_client::ModelDiscoveryServiceClient};
use tonic::transport::Channel;

use crate::common::replicas::{Cluster, register};
use crate::common::{Backend, assert_error, on_every_backend};

pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
    on_every_backend!(page_tokens_reveal_nothing_and_continue_on_another_replica)
}

const SECRET_NAME: &str = "confidential-model-of-another-team";

async fn page_tokens_reveal_nothing_and_continue_on_another_replica(backend: Backend) {
    // Started together: both make a key at once, and must agree on one.
    let mut cluster = Cluster::start(backend, 2, &[]).await;
    for name in [SECRET_NAME, "zz-second", "zz-third"] {
        register(&mut cluster.replicas[0].registration, name).await;
    }
    let urls: Vec<String> = cluster.replicas.iter().map(|r| r.process.url()).collect();
    let client = |replica: usize| {
        let url = urls[replica].clone();
        async move {
            let channel = Channel::from_shared(url).unwrap();
            ModelDiscoveryServiceClient::new(channel.connect().await.unwrap())
        }
    };
    let list = |page_token: String| pb::ListModelsRequest {
        page_size: 1,
        page_token,
        ..Default::default()
    };

    let first = client(0)
        .await
        .list_models(list(String::new()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first.models[0].model_id.as_ref().unwrap().model_name,
        SECRET_NAME
    );
    let token = first.next_page_token;
    let decoded = URL_SAFE_NO_PAD.decode(&token).expect("base64url");
    let shown = String::from_utf8_lossy(&decoded);
    assert!(!shown.contains("confidential"), "the token shows {shown}");

    // The other replica continues the listing.
    let second = client(1)
        .await
        .list_models(list(token.clone()))
        .await
        .expect("a token of one replica is valid on another")
        .into_inner();
    assert_eq!(
        second.models[0].model_id.as_ref().unwrap().model_name,
        "zz-second"
    );

    // A forged or altered token is refused.
    let mut altered = decoded.clone();
    let middle = altered.len() / 2;
    altered[middle] ^= 1;
    let refused = client(1)
        .await
        .list_models(list(URL_SAFE_NO_PAD.encode(altered)))
        .await
        .unwrap_err();
    assert_error(&refused, tonic::Code::InvalidArgument, "INVALID_ARGUMENT");
    let forged = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"request":"x","after_name":"{SECRET_NAME}","after_version":"1"}}"#
    ));
    let refused = client(0).await.list_models(list(forged)).await.unwrap_err();
    assert_error(&refused, tonic::Code::InvalidArgument, "INVALID_ARGUMENT");

    // The REST Link of one replica holds a sealed token too, and continues on the other.
    let http = reqwest::Client::new();
    let page = http
        .get(format!(
            "{}/ai-ml-model-discovery/v1/models?page-size=1",
            urls[0]
        ))
        .send()
        .await
        .unwrap();
    let link = page.headers()["link"].to_str().unwrap().to_owned();
    assert!(!link.contains("confidential"), "{link}");
    let next = link
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    let continued = http.get(format!("{}{next}", urls[1])).send().await.unwrap();
    assert_eq!(continued.status(), 200);
    let body: serde_json::Value =
        serde_json::from_slice(&continued.bytes().await.unwrap()).unwrap();
    assert_eq!(body[0]["modelId"]["modelName"], "zz-second", "{body}");
    drop(cluster);
}
