// A client of modelreg written from the generated TypeScript stubs alone (protobuf-es and
// Connect's gRPC transport), as a client team would: register, read, update with an etag, find
// by filter, refuse a stale etag, and deregister. Usage: node client.js HOST:PORT. Any surprise
// throws, and the process exits non-zero.

import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ModelDiscoveryService } from "./gen/modelregistry/v1/discovery_pb.js";
import { ModelRegistrationService } from "./gen/modelregistry/v1/registration_pb.js";

function check(condition: boolean, what: string): void {
  if (!condition) {
    throw new Error(`unexpected: ${what}`);
  }
}

async function refusedWith(code: Code, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    const error = ConnectError.from(err);
    check(error.code === code, `code ${Code[error.code]}, not ${Code[code]}: ${error.message}`);
    return;
  }
  throw new Error(`the call succeeded; ${Code[code]} was expected`);
}

async function main(address: string): Promise<void> {
  const transport = createGrpcTransport({ baseUrl: `http://${address}` });
  const registration = createClient(ModelRegistrationService, transport);
  const discovery = createClient(ModelDiscoveryService, transport);
  const name = `typescript-client-${randomUUID().slice(0, 8)}`;
  const timeoutMs = 10_000;

  const created = await registration.registerModel(
    {
      modelRelatedInformation: {
        modelId: { modelName: name, modelVersion: "1" },
        description: "registered by the generated TypeScript client",
        modelInformation: {
          metadata: { author: "typescript" },
          inputDataType: ["pdcpBytesDl"],
          outputDataType: ["qoe"],
          targetEnvironment: [
            { platformName: "kserve", environmentType: "onnx", dependencyList: "numpy" },
          ],
        },
        labels: { team: "ran" },
      },
      requestId: randomUUID(),
    },
    { timeoutMs },
  );
  const id = created.modelRegistrationId;
  check(id !== "" && created.etag !== "", "an id and an etag");
  check(created.modelInformation?.targetEnvironment[0]?.platformName === "kserve", "the environment");

  const read = await registration.getModelRegistration({ modelRegistrationId: id }, { timeoutMs });
  check(read.etag === created.etag && read.description === created.description, "the same model");

  const updated = await registration.updateModelRegistration(
    {
      modelRelatedInformation: { modelRegistrationId: id, description: "updated", etag: created.etag },
      updateMask: { paths: ["description"] },
    },
    { timeoutMs },
  );
  check(updated.description === "updated" && updated.etag !== created.etag, "the update");

  const found = await discovery.listModels(
    { filter: `labels.team = "ran" AND model_id.model_name = "${name}"` },
    { timeoutMs },
  );
  check(
    found.models.length === 1 && found.models[0]?.modelRegistrationId === id,
    "the model found by filter",
  );

  await refusedWith(Code.Aborted, () =>
    registration.deleteModelRegistration({ modelRegistrationId: id, etag: created.etag }, { timeoutMs }),
  );
  await registration.deleteModelRegistration({ modelRegistrationId: id, etag: updated.etag }, { timeoutMs });
  await refusedWith(Code.NotFound, () =>
    registration.getModelRegistration({ modelRegistrationId: id }, { timeoutMs }),
  );
  console.log(`typescript client: register, get, update, list, stale etag refused, delete: ok (${name})`);
}

const address = process.argv[2];
if (address === undefined) {
  throw new Error("usage: node client.js HOST:PORT");
}
await main(address);
