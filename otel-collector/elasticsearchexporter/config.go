package elasticsearchexporter

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config is the configuration of the elasticsearch exporter. Key names follow
// the contrib elasticsearchexporter wherever the meaning is the same.
type Config struct {
	// Endpoints lists the Elasticsearch URLs (http or https).
	Endpoints []string `mapstructure:"endpoints"`

	// Basic authentication (optional). Mutually exclusive with APIKey.
	User     string              `mapstructure:"user"`
	Password configopaque.String `mapstructure:"password"`
	// APIKey is the base64-encoded "id:api_key" value (optional).
	APIKey configopaque.String `mapstructure:"api_key"`

	// TLS settings for https endpoints.
	TLS configtls.ClientConfig `mapstructure:"tls"`

	// LogsIndex and TracesIndex are the index names (or the prefix, with
	// logstash_format enabled).
	LogsIndex   string `mapstructure:"logs_index"`
	TracesIndex string `mapstructure:"traces_index"`

	// LogstashFormat appends a date suffix to the index name, giving daily indices.
	LogstashFormat LogstashFormatSettings `mapstructure:"logstash_format"`

	// LogsDynamicID takes the document _id from the record attribute
	// elasticsearch.document_id when present.
	LogsDynamicID DynamicIDSettings `mapstructure:"logs_dynamic_id"`

	// Mapping selects the document shape. Only "ecs" is supported.
	Mapping MappingsSettings `mapstructure:"mapping"`

	exporterhelper.TimeoutConfig `mapstructure:",squash"`
	QueueBatchConfig             configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	BackOffConfig                configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
}

// LogstashFormatSettings configures the date suffix of the index name.
type LogstashFormatSettings struct {
	Enabled         bool   `mapstructure:"enabled"`
	PrefixSeparator string `mapstructure:"prefix_separator"`
	// DateFormat is a strftime-like layout; supported verbs: %Y %y %m %d %H %j %%.
	DateFormat string `mapstructure:"date_format"`
}

// DynamicIDSettings configures the explicit document id attribute.
type DynamicIDSettings struct {
	Enabled bool `mapstructure:"enabled"`
}

// MappingsSettings configures the document mapping mode.
type MappingsSettings struct {
	Mode string `mapstructure:"mode"`
}

const (
	mappingModeECS = "ecs"
	// documentIDAttribute names the record attribute that becomes _id when
	// logs_dynamic_id is enabled. It is removed from the document.
	documentIDAttribute = "elasticsearch.document_id"
)

// Validate checks the configuration; the Collector calls it at start.
func (cfg *Config) Validate() error {
	var errs []error
	if len(cfg.Endpoints) == 0 {
		errs = append(errs, errors.New("endpoints: at least one Elasticsearch URL is required"))
	}
	for _, e := range cfg.Endpoints {
		u, err := url.Parse(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("endpoints: invalid URL %q: %w", e, err))
			continue
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			errs = append(errs, fmt.Errorf("endpoints: %q must use http or https", e))
		}
		if u.Host == "" {
			errs = append(errs, fmt.Errorf("endpoints: %q has no host", e))
		}
	}
	if strings.TrimSpace(cfg.LogsIndex) == "" {
		errs = append(errs, errors.New("logs_index must not be empty"))
	}
	if strings.TrimSpace(cfg.TracesIndex) == "" {
		errs = append(errs, errors.New("traces_index must not be empty"))
	}
	for _, idx := range []string{cfg.LogsIndex, cfg.TracesIndex} {
		if idx != strings.ToLower(idx) || strings.ContainsAny(idx, ` "*\<|,>/?#:`) {
			errs = append(errs, fmt.Errorf("index name %q must be lowercase without spaces or any of \\/*?\"<>|,#:", idx))
		}
	}
	if cfg.User != "" && cfg.Password == "" {
		errs = append(errs, errors.New("password is required when user is set"))
	}
	if cfg.User == "" && cfg.Password != "" {
		errs = append(errs, errors.New("user is required when password is set"))
	}
	if cfg.APIKey != "" && cfg.User != "" {
		errs = append(errs, errors.New("api_key and user/password are mutually exclusive"))
	}
	if cfg.Mapping.Mode != mappingModeECS {
		errs = append(errs, fmt.Errorf("mapping::mode %q is not supported (only %q)", cfg.Mapping.Mode, mappingModeECS))
	}
	if cfg.LogstashFormat.Enabled {
		if _, err := compileDateFormat(cfg.LogstashFormat.DateFormat); err != nil {
			errs = append(errs, fmt.Errorf("logstash_format::date_format: %w", err))
		}
	}
	if cfg.Timeout < 0 {
		errs = append(errs, errors.New("timeout must not be negative"))
	}
	return errors.Join(errs...)
}
