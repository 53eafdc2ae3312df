package elasticsearchexporter

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.uber.org/zap"
)

// sendBulk indexes one batch in one _bulk request, in three steps: encoding
// (encodeBulkBody), the request (doBulk) and the per-item classification
// (classify). A non-nil error means the whole request must be retried
// (retryable) or dropped (permanent).
func (e *esExporter) sendBulk(ctx context.Context, items []bulkItem) (bulkSummary, error) {
	results, err := e.doBulk(ctx, encodeBulkBody(items), items)
	if err != nil {
		return bulkSummary{}, err
	}
	return e.classify(ctx, results), nil
}

// doBulk sends a _bulk request and reads the result of every item. It
// accounts for the request (bulk_requests, bulk_duration) and, when the
// request as a whole fails, for its documents: a transport error, a 429/5xx,
// a 401 or an unreadable response is retryable (every document counted
// retried); any other HTTP error status is permanent (every document counted
// failed with error.type http_<status>, one ERROR log line). A 401 is retried
// because it says the credentials are wrong or rotated, not the documents: the
// sending queue keeps them until the password is fixed (one WARN line each time).
func (e *esExporter) doBulk(ctx context.Context, body []byte, items []bulkItem) ([]itemResult, error) {
	start := time.Now()
	res, err := e.client.Bulk(bytes.NewReader(body),
		e.client.Bulk.WithContext(ctx),
		e.client.Bulk.WithFilterPath(bulkFilterPath...))
	if err != nil {
		e.tel.recordBulk(ctx, false, time.Since(start))
		e.tel.addDocs(ctx, outcomeRetried, len(items))
		return nil, fmt.Errorf("_bulk request with %d %s failed: %w", len(items), e.signal.items, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		e.tel.recordBulk(ctx, false, time.Since(start))
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 2048))
		err := fmt.Errorf("_bulk request with %d %s: HTTP %d: %s", len(items), e.signal.items, res.StatusCode, bytes.TrimSpace(msg))
		if res.StatusCode == 429 || res.StatusCode >= 500 {
			e.tel.addDocs(ctx, outcomeRetried, len(items))
			return nil, err
		}
		if res.StatusCode == 401 {
			e.tel.addDocs(ctx, outcomeRetried, len(items))
			e.logger.Warn("Elasticsearch refused the exporter's credentials (HTTP 401); documents kept for retry: check user and password",
				zap.String("signal", e.signal.items), zap.Int("documents", len(items)))
			return nil, err
		}
		e.tel.addFailedDocs(ctx, fmt.Sprintf("http_%d", res.StatusCode), len(items))
		e.logger.Error("Elasticsearch rejected the whole _bulk request; documents dropped",
			zap.String("signal", e.signal.items), zap.Int("documents", len(items)), zap.Int("status", res.StatusCode),
			zap.ByteString("reason", bytes.TrimSpace(msg)))
		return nil, consumererror.NewPermanent(err)
	}
	results, err := readBulkResponse(res.Body, items)
	e.tel.recordBulk(ctx, err == nil, time.Since(start))
	if err != nil {
		e.tel.addDocs(ctx, outcomeRetried, len(items))
		return nil, err
	}
	return results, nil
}
