package main

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"weirplugin"
)

func testEvent(value []byte) weirplugin.Event {
	return weirplugin.Event{
		Topic:   "orders",
		Offset:  12,
		Key:     []byte("ord-00000042"),
		Value:   value,
		Headers: []weirplugin.Header{{Name: "source", Value: []byte("shop")}},
	}
}

func jsonEvent(t *testing.T, value any) weirplugin.Event {
	t.Helper()
	data, err := json.Marshal(value)
	if err != nil {
		t.Fatal(err)
	}
	return testEvent(data)
}

func redactor(t *testing.T, config map[string]string) weirplugin.Plugin {
	t.Helper()
	plugin, err := newRedactCustomer(weirplugin.NewConfig(config))
	if err != nil {
		t.Fatalf("init failed: %v", err)
	}
	return plugin
}

// redactValue runs the default redactor and returns the single output value as JSON.
func redactValue(t *testing.T, value any) map[string]any {
	t.Helper()
	outputs, err := redactor(t, nil).Process(jsonEvent(t, value))
	if err != nil {
		t.Fatalf("process failed: %v", err)
	}
	if len(outputs) != 1 {
		t.Fatalf("got %d outputs, want 1", len(outputs))
	}
	var output map[string]any
	if err := json.Unmarshal(outputs[0].Value, &output); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	return output
}

func rejectReason(t *testing.T, event weirplugin.Event) string {
	t.Helper()
	outputs, err := redactor(t, nil).Process(event)
	var failure *weirplugin.Failure
	if !errors.As(err, &failure) || failure.Retry {
		t.Fatalf("expected a reject for %s, got outputs %v and error %v", event.Value, outputs, err)
	}
	return failure.Reason
}

func orderPlaced() map[string]any {
	return map[string]any{
		"type":     "OrderPlaced",
		"order_id": "ord-00000042",
		"customer": map[string]any{"id": "cus-00017", "email": "anna.berg@example.com", "name": "Anna Berg"},
		"payment":  map[string]any{"method": "card", "card_number": "4111111111111111", "card_expiry": "08/27"},
		"currency": "EUR",
		"total":    "129.90",
		"lines": []any{
			map[string]any{"sku": "MUG-350", "quantity": 2, "unit_price": "12.5"},
			map[string]any{"sku": "TEE-M", "quantity": 1, "unit_price": "104.90"},
		},
	}
}

func field(t *testing.T, document map[string]any, path ...string) any {
	t.Helper()
	var current any = document
	for _, name := range path {
		object, ok := current.(map[string]any)
		if !ok {
			t.Fatalf("%v: %q is not inside an object", path, name)
		}
		current = object[name]
	}
	return current
}

func line(t *testing.T, document map[string]any, index int) map[string]any {
	t.Helper()
	return field(t, document, "lines").([]any)[index].(map[string]any)
}

func TestOrderPlacedIsRedacted(t *testing.T) {
	output := redactValue(t, orderPlaced())

	checks := []struct {
		path []string
		want string
	}{
		{[]string{"customer", "email"}, "REDACTED"},
		{[]string{"customer", "name"}, "Anna Berg"},
		{[]string{"payment", "card_number"}, "REDACTED-1111"},
		{[]string{"payment", "card_expiry"}, "REDACTED"},
		{[]string{"payment", "method"}, "card"},
	}
	for _, check := range checks {
		if got := field(t, output, check.path...); got != check.want {
			t.Errorf("%v = %v, want %q", check.path, got, check.want)
		}
	}
}

func TestOrderPlacedAmountsConvert(t *testing.T) {
	output := redactValue(t, orderPlaced())

	if got := field(t, output, "total_minor"); got != 12990.0 {
		t.Errorf("total_minor = %v, want 12990", got)
	}
	if _, ok := output["total"]; ok {
		t.Error("total is still present")
	}
	if got := line(t, output, 0)["unit_price_minor"]; got != 1250.0 {
		t.Errorf("lines[0].unit_price_minor = %v, want 1250", got)
	}
	if got := line(t, output, 1)["unit_price_minor"]; got != 10490.0 {
		t.Errorf("lines[1].unit_price_minor = %v, want 10490", got)
	}
	if _, ok := line(t, output, 0)["unit_price"]; ok {
		t.Error("lines[0].unit_price is still present")
	}
	if got := line(t, output, 0)["sku"]; got != "MUG-350" {
		t.Errorf("lines[0].sku = %v, want MUG-350", got)
	}
}

func TestAmountsStayIntegers(t *testing.T) {
	outputs, err := redactor(t, nil).Process(testEvent([]byte(
		`{"currency":"EUR","total":"1.50","lines":[{"quantity":3,"unit_price":"0.5"}],"big":18446744073709551615}`)))
	if err != nil {
		t.Fatal(err)
	}

	text := string(outputs[0].Value)
	for _, want := range []string{`"total_minor":150`, `"unit_price_minor":50`, `"quantity":3`, `"big":18446744073709551615`} {
		if !strings.Contains(text, want) {
			t.Errorf("output %s lacks %s", text, want)
		}
	}
}

func TestPaymentCapturedIsRedacted(t *testing.T) {
	output := redactValue(t, map[string]any{
		"type":     "PaymentCaptured",
		"currency": "JPY",
		"amount":   "1200",
		"payment":  map[string]any{"card_number": "5500 0000 0000 0004", "card_expiry": "11/26"},
	})

	if got := output["amount_minor"]; got != 1200.0 {
		t.Errorf("amount_minor = %v, want 1200", got)
	}
	if _, ok := output["amount"]; ok {
		t.Error("amount is still present")
	}
	if got := field(t, output, "payment", "card_number"); got != "REDACTED-0004" {
		t.Errorf("card_number = %v", got)
	}
	if got := field(t, output, "payment", "card_expiry"); got != "REDACTED" {
		t.Errorf("card_expiry = %v", got)
	}
}

func TestConfiguredMaskIsUsed(t *testing.T) {
	outputs, err := redactor(t, map[string]string{"mask": "***"}).Process(jsonEvent(t, orderPlaced()))
	if err != nil {
		t.Fatal(err)
	}

	var output map[string]any
	if err := json.Unmarshal(outputs[0].Value, &output); err != nil {
		t.Fatal(err)
	}
	if got := field(t, output, "customer", "email"); got != "***" {
		t.Errorf("email = %v", got)
	}
	if got := field(t, output, "payment", "card_number"); got != "***-1111" {
		t.Errorf("card_number = %v", got)
	}
}

func TestOutputKeepsKeyAndHeaders(t *testing.T) {
	input := jsonEvent(t, orderPlaced())

	outputs, err := redactor(t, nil).Process(input)
	if err != nil {
		t.Fatal(err)
	}

	if outputs[0].Topic != "" {
		t.Errorf("topic = %q, want none", outputs[0].Topic)
	}
	if !reflect.DeepEqual(outputs[0].Key, input.Key) {
		t.Errorf("key = %q, want %q", outputs[0].Key, input.Key)
	}
	if !reflect.DeepEqual(outputs[0].Headers, input.Headers) {
		t.Errorf("headers = %v, want %v", outputs[0].Headers, input.Headers)
	}
}

func TestDecimalsConvertByExponent(t *testing.T) {
	cases := []struct {
		text     string
		exponent int
		want     int64
	}{
		{"129.90", 2, 12990},
		{"129.9", 2, 12990},
		{"129", 2, 12900},
		{"0.05", 2, 5},
		{"-3.50", 2, -350},
		{"1200", 0, 1200},
	}

	for _, test := range cases {
		got, err := toMinorUnits(test.text, test.exponent)
		if err != nil || got != test.want {
			t.Errorf("toMinorUnits(%q, %d) = %d, %v; want %d", test.text, test.exponent, got, err, test.want)
		}
	}
}

func TestInvalidDecimalsFail(t *testing.T) {
	cases := []struct {
		decimal  any
		exponent int
	}{
		{"12.345", 2},
		{"12.5", 0},
		{"12.", 2},
		{".5", 2},
		{"1,50", 2},
		{"+1.50", 2},
		{"", 2},
		{"99999999999999999999", 2},
		{json.Number("12.5"), 2},
	}

	for _, test := range cases {
		if _, err := toMinorUnits(test.decimal, test.exponent); err == nil {
			t.Errorf("toMinorUnits(%#v, %d) succeeded", test.decimal, test.exponent)
		}
	}
}

func TestExcessFractionDigitsReject(t *testing.T) {
	value := orderPlaced()
	value["total"] = "129.901"

	reason := rejectReason(t, jsonEvent(t, value))

	if want := "`total` has 3 fraction digits but the currency allows 2"; reason != want {
		t.Errorf("reason = %q, want %q", reason, want)
	}
}

func TestJPYFractionRejects(t *testing.T) {
	value := orderPlaced()
	value["currency"] = "JPY"
	value["total"] = "1200"

	reason := rejectReason(t, jsonEvent(t, value))

	if want := "`lines[0].unit_price` has 1 fraction digits but the currency allows 0"; reason != want {
		t.Errorf("reason = %q, want %q", reason, want)
	}
}

func TestUnknownCurrencyRejects(t *testing.T) {
	value := orderPlaced()
	value["currency"] = "CHF"

	reason := rejectReason(t, jsonEvent(t, value))

	if !strings.Contains(reason, "`CHF` is not supported") {
		t.Errorf("reason = %q", reason)
	}
}

func TestMissingCurrencyRejects(t *testing.T) {
	reason := rejectReason(t, jsonEvent(t, map[string]any{"type": "PaymentCaptured", "amount": "5.00"}))

	if !strings.Contains(reason, "`currency` is missing") {
		t.Errorf("reason = %q", reason)
	}
}

func TestInvalidCardNumberRejects(t *testing.T) {
	for _, cardNumber := range []any{"123", "4111-abcd-1111", "４１１１１１１１", uint64(4111111111111111)} {
		value := orderPlaced()
		value["payment"].(map[string]any)["card_number"] = cardNumber

		reason := rejectReason(t, jsonEvent(t, value))

		if want := "`payment.card_number` is not a card number"; reason != want {
			t.Errorf("card number %v: reason = %q, want %q", cardNumber, reason, want)
		}
	}
}

func TestInvalidJSONRejects(t *testing.T) {
	inputs := []string{
		`{"type":`,
		``,
		`{"a":1} trailing`,
		"{\"name\":\"\xff\"}",
		`{"name":"\ud800"}`,
		`{"name":"\udc00x"}`,
		`{"name":"\ud800\u0041"}`,
		`{"total":1e400}`,
		strings.Repeat("[", 128) + strings.Repeat("]", 128),
	}

	for _, input := range inputs {
		reason := rejectReason(t, testEvent([]byte(input)))

		if reason != "value is not valid JSON" {
			t.Errorf("%q: reason = %q", input, reason)
		}
	}
}

func TestValidEdgeJSONPasses(t *testing.T) {
	inputs := []string{
		`{"name":"\ud83d\ude00","escaped":"\\ud800"}`,
		strings.Repeat("[", 127) + strings.Repeat("]", 127),
		`{"tiny":1e-400,"big":99999999999999999999}`,
	}

	for _, input := range inputs {
		outputs, err := redactor(t, nil).Process(testEvent([]byte(input)))

		if err != nil || len(outputs) != 1 || string(outputs[0].Value) != input {
			t.Errorf("%q: outputs %v, error %v; want it passed through", input, outputs, err)
		}
	}
}

func TestUnrelatedEventsPassUnchanged(t *testing.T) {
	inputs := []weirplugin.Event{
		testEvent(nil),
		testEvent([]byte(`{"type": "OrderShipped", "carrier": "DHL"}`)),
		testEvent([]byte(`[1, 2]`)),
	}

	for _, input := range inputs {
		outputs, err := redactor(t, nil).Process(input)

		want := []weirplugin.Output{weirplugin.NewOutput(input)}
		if err != nil || !reflect.DeepEqual(outputs, want) {
			t.Errorf("%q: outputs %v, error %v; want %v", input.Value, outputs, err, want)
		}
	}
}

func TestEmptyValueRejects(t *testing.T) {
	reason := rejectReason(t, testEvent([]byte{}))

	if reason != "value is not valid JSON" {
		t.Errorf("reason = %q", reason)
	}
}

func TestUnknownConfigKeyFailsInit(t *testing.T) {
	_, err := newRedactCustomer(weirplugin.NewConfig(map[string]string{"mask": "x", "masks": "y"}))

	if err == nil || !strings.Contains(err.Error(), "`masks`") {
		t.Errorf("error = %v, want one naming `masks`", err)
	}
}
