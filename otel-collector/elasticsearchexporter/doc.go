// Package elasticsearchexporter exports OpenTelemetry logs and traces to
// Elasticsearch with the _bulk API, one bulk request per exporterhelper batch.
//
// The component's metadata (type, stability, self-telemetry) is declared in
// metadata.yaml; internal/metadata, internal/metadatatest, the generated_*_test.go
// files and documentation.md are generated from it by mdatagen
// (go.opentelemetry.io/collector/cmd/mdatagen, the Collector release this
// distribution builds on). See README.md, "Layout and generated code".
//
//go:generate go run go.opentelemetry.io/collector/cmd/mdatagen@v0.165.0 metadata.yaml
package elasticsearchexporter // import "github.com/alertingscout/alertingscout/otel-collector/elasticsearchexporter"
