// Weir plugin that redacts customer and card data and converts amounts to minor units: the
// JavaScript port of plugins/redact-customer, with the same outputs and failures.
//
// For an event whose value is a JSON object (see docs/order-events.md):
//
// - `customer.email` and `payment.card_expiry` are replaced by the mask.
// - `payment.card_number` is replaced by the mask, a hyphen and the last four digits of the
//   number, such as `REDACTED-1111`. A card number that is not a string of digits, spaces
//   and hyphens with at least four digits fails with `Reject`.
// - The decimal strings `total`, `amount` and each line's `unit_price` are replaced by the
//   integers `total_minor`, `amount_minor` and `unit_price_minor`, in minor units of the
//   event's `currency`: JPY has no minor unit and EUR, USD and GBP have two decimal
//   places. A missing or unsupported currency, a value that is not a decimal string, or a
//   decimal with more fraction digits than the currency allows fails with `Reject`, and
//   the reason names the field.
//
// When a field is absent, it is left alone, so tombstones, valid JSON that is not an
// object, and events without these fields pass through unchanged. Otherwise the output is
// the re-serialised JSON with the same key and headers, and no topic. A value that is not
// valid JSON fails with `Reject`, because passing it on would forward data this step could
// not redact.
//
// Config: `mask` (optional, default `REDACTED`) is the replacement text. Any other key
// fails `init` with a message naming the key.

import { Reject, decodeText, encodeText, exportPlugin, outputFrom } from "weir-plugin";
import { JsonNumber, isJsonObject, parseJson, stringifyJson } from "./json.js";

/** The replacement text when the step sets no `mask`. */
export const DEFAULT_MASK = "REDACTED";

/** The largest magnitude of a minor-unit amount, as the Rust plugin stores it in an i64. */
const MAX_MINOR_UNITS = 9223372036854775807n;

class RedactCustomer {
  static init(config) {
    const unknown = config.keys().find((key) => key !== "mask");
    if (unknown !== undefined) {
      throw new Error(`unknown config key \`${unknown}\`: redact-customer accepts only \`mask\``);
    }
    return new RedactCustomer(config.get("mask") ?? DEFAULT_MASK);
  }

  constructor(mask) {
    this.mask = mask;
  }

  process(event) {
    if (event.value === undefined) {
      return [outputFrom(event)];
    }

    let document;
    try {
      document = parseJson(decodeText(event.value));
    } catch {
      throw new Reject("value is not valid JSON");
    }
    const fields = document.value;
    if (!isJsonObject(fields)) {
      return [outputFrom(event)];
    }

    const redacted = this.redact(fields);
    const converted = convertAmounts(document);
    if (!redacted && !converted) {
      return [outputFrom(event)];
    }
    return [outputFrom(event, { value: encodeText(stringifyJson(document)) })];
  }

  /** Masks the customer email and the card fields. Returns whether any field changed. */
  redact(fields) {
    let changed = false;

    const customer = objectField(fields, "customer");
    if (customer !== undefined && Object.hasOwn(customer, "email")) {
      customer.email = this.mask;
      changed = true;
    }

    const payment = objectField(fields, "payment");
    if (payment === undefined) {
      return changed;
    }
    if (Object.hasOwn(payment, "card_number")) {
      const lastFour = lastFourDigits(payment.card_number);
      payment.card_number = `${this.mask}-${lastFour}`;
      changed = true;
    }
    if (Object.hasOwn(payment, "card_expiry")) {
      payment.card_expiry = this.mask;
      changed = true;
    }

    return changed;
  }
}

export const handler = exportPlugin(RedactCustomer);

/** Returns the field `name` when it is a JSON object, else undefined. */
function objectField(fields, name) {
  const value = Object.hasOwn(fields, name) ? fields[name] : undefined;
  return isJsonObject(value) ? value : undefined;
}

function lastFourDigits(cardNumber) {
  const invalid = () => new Reject("`payment.card_number` is not a card number");

  if (typeof cardNumber !== "string" || !/^[0-9 -]*$/.test(cardNumber)) {
    throw invalid();
  }
  const digits = cardNumber.replace(/[^0-9]/g, "");
  if (digits.length < 4) {
    throw invalid();
  }
  return digits.slice(-4);
}

/**
 * Replaces `total`, `amount` and each line's `unit_price` with their minor-unit integers.
 * Returns whether any field changed. On a Reject, the document may be partly converted.
 */
function convertAmounts(document) {
  const fields = document.value;
  if (!hasAmounts(fields)) {
    return false;
  }
  const exponent = currencyExponent(fields);

  for (const name of ["total", "amount"]) {
    if (Object.hasOwn(fields, name)) {
      const minor = toMinorUnits(fields[name], exponent, name);
      delete fields[name];
      fields[`${name}_minor`] = toJsonInteger(minor, document);
    }
  }

  const lines = Object.hasOwn(fields, "lines") ? fields.lines : undefined;
  if (Array.isArray(lines)) {
    lines.forEach((line, index) => {
      if (!isJsonObject(line) || !Object.hasOwn(line, "unit_price")) {
        return;
      }
      const minor = toMinorUnits(line.unit_price, exponent, `lines[${index}].unit_price`);
      delete line.unit_price;
      line.unit_price_minor = toJsonInteger(minor, document);
    });
  }

  return true;
}

function hasAmounts(fields) {
  const lines = Object.hasOwn(fields, "lines") ? fields.lines : undefined;
  const linesHavePrices =
    Array.isArray(lines) && lines.some((line) => isJsonObject(line) && Object.hasOwn(line, "unit_price"));
  return Object.hasOwn(fields, "total") || Object.hasOwn(fields, "amount") || linesHavePrices;
}

/** Returns the number of decimal places of the currency's minor unit (ISO 4217). */
function currencyExponent(fields) {
  if (!Object.hasOwn(fields, "currency")) {
    throw new Reject("`currency` is missing, so amounts cannot be converted");
  }
  const code = fields.currency;
  if (typeof code !== "string") {
    throw new Reject("`currency` is not a string");
  }
  switch (code) {
    case "EUR":
    case "USD":
    case "GBP":
      return 2;
    case "JPY":
      return 0;
    default:
      throw new Reject(`currency \`${code}\` is not supported; expected EUR, USD, GBP or JPY`);
  }
}

/**
 * Converts a decimal string such as `"129.90"` to a BigInt count of minor units, or throws
 * a Reject whose reason starts with the field name.
 */
function toMinorUnits(decimal, exponent, field) {
  const notDecimal = () => new Reject(`\`${field}\` is not a decimal string`);

  if (typeof decimal !== "string") {
    throw notDecimal();
  }
  const negative = decimal.startsWith("-");
  const unsigned = negative ? decimal.slice(1) : decimal;
  const point = unsigned.indexOf(".");
  const whole = point === -1 ? unsigned : unsigned.slice(0, point);
  const fraction = point === -1 ? "" : unsigned.slice(point + 1);

  const allDigits = (part) => /^[0-9]*$/.test(part);
  if (whole === "" || !allDigits(whole) || !allDigits(fraction) || (point !== -1 && fraction === "")) {
    throw notDecimal();
  }
  if (fraction.length > exponent) {
    throw new Reject(
      `\`${field}\` has ${fraction.length} fraction digits but the currency allows ${exponent}`,
    );
  }

  const magnitude = BigInt(whole + fraction.padEnd(exponent, "0"));
  if (magnitude > MAX_MINOR_UNITS) {
    throw new Reject(`\`${field}\` is out of range for minor units`);
  }
  return negative ? -magnitude : magnitude;
}

/**
 * Returns `value` as a JavaScript number when that is exact, else as a JsonNumber, and
 * then marks the document for the serialiser that writes JsonNumber text.
 */
function toJsonInteger(value, document) {
  const number = Number(value);
  if (Number.isSafeInteger(number)) {
    return number;
  }
  document.exact = true;
  return new JsonNumber(value.toString());
}
