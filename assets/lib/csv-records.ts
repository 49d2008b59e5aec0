/**
 * RFC 4180 records of a CSV text (BOM stripped, CRLF or LF, empty lines skipped). A small scanner
 * instead of csv-parse because Bronze validation and counting a 100 MB benchmark file must take seconds;
 * sample-data/generate.test.ts checks that it agrees with csv-parse record for record.
 */
export function* csvRecords(text: string): Generator<string[]> {
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < n) {
    const rec: string[] = [];
    for (;;) {
      if (text.charCodeAt(i) === 34) {
        let j = i + 1;
        let cell = '';
        for (;;) {
          const q = text.indexOf('"', j);
          if (q < 0) throw new Error(`unclosed quote at offset ${i}`);
          cell += text.slice(j, q);
          if (text.charCodeAt(q + 1) === 34) {
            cell += '"';
            j = q + 2;
            continue;
          }
          i = q + 1;
          break;
        }
        rec.push(cell);
      } else {
        let j = i;
        while (j < n) {
          const c = text.charCodeAt(j);
          if (c === 44 || c === 10 || c === 13) break;
          j++;
        }
        rec.push(text.slice(i, j));
        i = j;
      }
      const c = text.charCodeAt(i);
      if (c === 44) {
        i++;
        continue;
      }
      if (c === 13 && text.charCodeAt(i + 1) === 10) i += 2;
      else if (c === 10 || c === 13) i++;
      break;
    }
    if (!(rec.length === 1 && rec[0] === '')) yield rec;
  }
}
