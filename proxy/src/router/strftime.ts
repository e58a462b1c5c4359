/**
 * The strftime subset of Envoy's `%START_TIME(format)%`, in UTC: %Y %y %m %d %e %H %M %S %j
 * %a %A %b %B %h %p %Z %z %s %T %F %D %R %n %t %%, and Envoy's fractional seconds %f / %1f..%9f
 * (%f: nine digits). An unknown conversion is written as it stands.
 */
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const pad = (n: number, w = 2, c = '0'): string => String(n).padStart(w, c);

/** `ms`: milliseconds since the epoch (the extra digits of %f past ms are zeros). */
export function strftime(format: string, ms: number): string {
  const d = new Date(ms);
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%' || i === format.length - 1) {
      out += c;
      continue;
    }
    let k = format[++i];
    let digits = 9;
    if (k >= '1' && k <= '9' && format[i + 1] === 'f') {
      digits = Number(k);
      k = format[++i];
    }
    out += conversion(k, d, digits);
  }
  return out;
}

function conversion(k: string, d: Date, digits: number): string {
  switch (k) {
    case 'Y': return String(d.getUTCFullYear());
    case 'y': return pad(d.getUTCFullYear() % 100);
    case 'm': return pad(d.getUTCMonth() + 1);
    case 'd': return pad(d.getUTCDate());
    case 'e': return pad(d.getUTCDate(), 2, ' ');
    case 'H': return pad(d.getUTCHours());
    case 'M': return pad(d.getUTCMinutes());
    case 'S': return pad(d.getUTCSeconds());
    case 'j': return pad(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1, 3);
    case 'a': return DAYS[d.getUTCDay()].slice(0, 3);
    case 'A': return DAYS[d.getUTCDay()];
    case 'b': case 'h': return MONTHS[d.getUTCMonth()].slice(0, 3);
    case 'B': return MONTHS[d.getUTCMonth()];
    case 'p': return d.getUTCHours() < 12 ? 'AM' : 'PM';
    case 'Z': return 'UTC';
    case 'z': return '+0000';
    case 's': return String(Math.floor(d.getTime() / 1000));
    case 'T': return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    case 'R': return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
    case 'F': return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    case 'D': return `${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCFullYear() % 100)}`;
    case 'n': return '\n';
    case 't': return '\t';
    case '%': return '%';
    case 'f': return pad(d.getUTCMilliseconds(), 3).padEnd(9, '0').slice(0, digits);
    default: return `%${k}`;
  }
}
