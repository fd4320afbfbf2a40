/** Reads a process's metrics endpoints as a scraper and a probe do. */

/** `/readyz` of the endpoints on `port`: its status and body. */
export async function readyz(port: number): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, text: await response.text() };
}

/** The value of one series (`name` or `name{labels}` exactly) in a scrape of `port`. */
export async function sample(port: number, series: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
