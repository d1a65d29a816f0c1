// Unit tests of json.js, which must accept and write JSON as serde_json does. Each expected
// text is one that serde_json reads as the same number, with the same integer or float
// type, as the input.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { JsonNumber, isJsonObject, parseJson, stringifyJson } from "./json.js";

/** Parses `text` and writes it back, as the plugin does when it changes a value. */
function roundTrip(text) {
  return stringifyJson(parseJson(text));
}

describe("parseJson", () => {
  test("plain JSON uses JSON.parse", () => {
    const text = '{"a": [1, -2, 0.5, 1e-3, "x", true, false, null], "b": {}}';

    const document = parseJson(text);

    assert.equal(document.exact, false);
    assert.deepEqual(document.value, JSON.parse(text));
  });

  test("changed numbers become JsonNumber", () => {
    const document = parseJson("[9007199254740993, 2.0, -0, 1]");

    assert.equal(document.exact, true);
    assert.deepEqual(document.value, [
      new JsonNumber("9007199254740993"),
      new JsonNumber("2.0"),
      new JsonNumber("-0.0"),
      1,
    ]);
  });

  test("exact integer range follows serde_json", () => {
    const cases = [
      ["18446744073709551615", "18446744073709551615"],
      ["18446744073709551616", "18446744073709552000.0"],
      ["-9223372036854775808", "-9223372036854775808"],
      ["-9223372036854775809", "-9223372036854776000.0"],
      ["100000000000000000000000", "1e+23"],
    ];

    for (const [token, expected] of cases) {
      const document = parseJson(`[${token}]`);

      assert.deepEqual(document.value, [new JsonNumber(expected)], token);
    }
  });

  test("rejects what serde_json rejects", () => {
    const invalid = [
      "",
      "   ",
      "NaN",
      "Infinity",
      "[1e400]",
      "[-1e400]",
      "{'a': 1}",
      "[01]",
      "[1.]",
      "[.5]",
      "[+1]",
      "[1,]",
      '{"a": 1,}',
      '{"a": 1} x',
      '"\\ud800"',
      '"\\udc00"',
      '"\\udc00\\ud800"',
      '"\\x"',
      '"a\u0001"',
      "[1]\u00a0",
      "[".repeat(128) + "]".repeat(128),
      '{"a":'.repeat(128) + "1" + "}".repeat(128),
    ];

    for (const text of invalid) {
      assert.throws(() => parseJson(text), SyntaxError, JSON.stringify(text.slice(0, 30)));
    }
  });

  // A number that JSON.parse would change sends the whole text to the slower parser,
  // which must reject the same syntax errors that JSON.parse does.
  test("exact parser rejects bad syntax", () => {
    const big = "18446744073709551616";
    const invalid = [
      `[${big}, 01]`,
      `[${big},]`,
      `[${big}] x`,
      `[${big}, 1.]`,
      `[${big}, .5]`,
      `[${big}, +1]`,
      `[${big}, -]`,
      `[${big}, tru]`,
      `[${big}, 'x']`,
      `[${big}, "\\x"]`,
      `[${big}, "a\u0001"]`,
      `[${big} 1]`,
      `{"a": ${big},}`,
      `{"a" ${big}}`,
      `{${big}: 1}`,
      `{"a": ${big}`,
      `[${big}`,
    ];

    for (const text of invalid) {
      assert.throws(() => parseJson(text), SyntaxError, text);
    }
  });

  test("127 levels of nesting parse", () => {
    const plain = "[".repeat(127) + "]".repeat(127);
    const exact = "[".repeat(126) + "[2.0]" + "]".repeat(126);

    assert.equal(parseJson(plain).exact, false);
    assert.equal(roundTrip(plain), plain);
    assert.equal(parseJson(exact).exact, true);
    assert.equal(roundTrip(exact), exact);
  });

  test("valid surrogate pairs parse", () => {
    const document = parseJson('{"s": "\\ud83d\\ude00", "n": 2.0}');

    assert.equal(document.value.s, "😀");
  });

  test("__proto__ key is data", () => {
    for (const text of ['{"__proto__": {"a": 1}}', '{"__proto__": {"a": 1}, "n": 2.0}']) {
      const { value } = parseJson(text);

      assert.equal(Object.getPrototypeOf(value), Object.prototype, text);
      assert.ok(Object.hasOwn(value, "__proto__"), text);
      assert.equal(value.a, undefined, text);
    }
  });

  test("duplicate keys keep the last", () => {
    assert.deepEqual(parseJson('{"a": 1, "a": 2}').value, { a: 2 });
    assert.deepEqual(parseJson('{"a": 2.0, "a": 3}').value, { a: 3 });
  });
});

describe("stringifyJson", () => {
  test("writes numbers as serde_json reads them", () => {
    const cases = [
      ["[1.0]", "[1.0]"],
      ["[-0]", "[-0.0]"],
      ["[-0.0]", "[-0.0]"],
      ["[1e2]", "[1e2]"],
      ["[1E-400]", "[1E-400]"],
      ["[12345678901234567890]", "[12345678901234567890]"],
      ["[9007199254740993, 0.1]", "[9007199254740993,0.1]"],
      ["[2.0, 2.5, 3]", "[2.0,2.5,3]"],
    ];

    for (const [input, expected] of cases) {
      assert.equal(roundTrip(input), expected, input);
    }
  });

  test("plain documents are compact", () => {
    assert.equal(roundTrip(' { "a" : [ 1 , "é\\n" ] , "b" : null } '), '{"a":[1,"é\\n"],"b":null}');
  });

  test("exact documents are compact", () => {
    assert.equal(
      roundTrip(' { "a" : [ 2.0 , "é\\n\\"" , true , null , { } , [ ] ] } '),
      '{"a":[2.0,"é\\n\\"",true,null,{},[]]}',
    );
  });

  test("undefined members are skipped", () => {
    const document = parseJson('{"a": 2.0, "b": 1}');
    document.value.b = undefined;
    document.value.c = new JsonNumber("5");

    assert.equal(stringifyJson(document), '{"a":2.0,"c":5}');
  });
});

describe("JSON helpers", () => {
  test("isJsonObject accepts only objects", () => {
    assert.equal(isJsonObject({}), true);
    assert.equal(isJsonObject({ a: 1 }), true);
    for (const value of [null, [], [1], "x", 1, true, new JsonNumber("2.0"), undefined]) {
      assert.equal(isJsonObject(value), false, String(value));
    }
  });

  test("JsonNumber is frozen", () => {
    const number = new JsonNumber("2.0");

    assert.ok(Object.isFrozen(number));
    assert.equal(number.text, "2.0");
  });
});
