import * as React from 'react';

/** A plain table of text cells. */
export function Grid(props: { columns: string[]; rows: string[][] }): React.ReactElement {
  return (
    <table className="wb-grid">
      <thead>
        <tr>
          {props.columns.map((column, i) => (
            <th key={i}>{column}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row, i) => (
          <tr key={i}>
            {row.map((cell, j) => (
              <td key={j}>{cell}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
