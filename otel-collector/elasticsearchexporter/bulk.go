package elasticsearchexporter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// The _bulk wire format: the NDJSON request body and the response items.

// bulkItem is one document of a _bulk request.
type bulkItem struct {
	index string
	id    string
	doc   []byte
	pos   int // position of the record in the exported batch
}

// encodeBulkBody returns the NDJSON body of a _bulk request of `create`
// actions: a replayed document with the same _id gets 409 instead of
// overwriting or duplicating. The buffer is new on every call: net/http may
// still read a request body after RoundTrip returned, so a pooled buffer
// could be overwritten while in flight.
func encodeBulkBody(items []bulkItem) []byte {
	size := 0
	for _, it := range items {
		size += len(it.doc) + len(it.index) + len(it.id) + 32
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	for _, it := range items {
		buf.WriteString(`{"create":{"_index":`)
		buf.WriteString(strconv.Quote(it.index))
		buf.WriteString(`,"_id":`)
		buf.WriteString(strconv.Quote(it.id))
		buf.WriteString("}}\n")
		buf.Write(it.doc)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// bulkFilterPath trims the _bulk response to what the exporter reads.
var bulkFilterPath = []string{"errors", "items.*._index", "items.*._id", "items.*.status", "items.*.error"}

type bulkResponse struct {
	Errors bool                        `json:"errors"`
	Items  []map[string]bulkItemResult `json:"items"`
}

type bulkItemResult struct {
	Index  string     `json:"_index"`
	ID     string     `json:"_id"`
	Status int        `json:"status"`
	Error  *bulkError `json:"error,omitempty"`
}

type bulkError struct {
	Type     string     `json:"type"`
	Reason   string     `json:"reason"`
	CausedBy *bulkError `json:"caused_by,omitempty"`
}

func (e *bulkError) String() string {
	if e == nil {
		return ""
	}
	s := e.Type + ": " + e.Reason
	if e.CausedBy != nil {
		s += " (caused by " + e.CausedBy.String() + ")"
	}
	return s
}

// itemResult is the outcome of one sent item.
type itemResult struct {
	item    bulkItem
	outcome outcome
	status  int
	reason  string
}

// readBulkResponse pairs every sent item with its result. A response
// without an answer for an item marks that item as retried (never dropped).
func readBulkResponse(body io.Reader, items []bulkItem) ([]itemResult, error) {
	var resp bulkResponse
	if err := json.NewDecoder(body).Decode(&resp); err != nil {
		return nil, fmt.Errorf("decoding _bulk response: %w", err)
	}
	results := make([]itemResult, len(items))
	for i, it := range items {
		results[i].item = it
		if i >= len(resp.Items) {
			results[i].outcome = outcomeRetried
			results[i].reason = "no result for this item in the _bulk response"
			continue
		}
		var r bulkItemResult
		for _, v := range resp.Items[i] { // one key: the action name
			r = v
		}
		results[i].status = r.Status
		results[i].outcome = classifyStatus(r.Status)
		results[i].reason = r.Error.String()
	}
	return results, nil
}
