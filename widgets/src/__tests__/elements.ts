/**
 * Reading a rendered row in the specs: its elements, the text it shows, the
 * command each of its buttons runs. The rows are plain elements, so walking
 * the tree their function returns is enough; no DOM.
 */
import * as React from 'react';

export type Element = React.ReactElement<{ [prop: string]: unknown }>;

/** Every element of a rendered tree, depth first (the rows use plain elements only). */
export function elements(node: React.ReactNode): Element[] {
  if (Array.isArray(node)) {
    return node.flatMap(elements);
  }
  if (!React.isValidElement(node)) {
    return [];
  }
  const element = node as Element;
  return [element, ...elements(element.props.children as React.ReactNode)];
}

/** The text a tree shows, in order. */
export function text(node: React.ReactNode): string {
  if (typeof node === 'string' || typeof node === 'number') {
    return String(node);
  }
  if (Array.isArray(node)) {
    return node.map(text).join('');
  }
  return React.isValidElement(node)
    ? text((node as Element).props.children as React.ReactNode)
    : '';
}

export function byClass(root: React.ReactElement, name: string): Element[] {
  return elements(root).filter(element =>
    String(element.props.className ?? '')
      .split(' ')
      .includes(name)
  );
}

/** The command each button of a row runs, by the button's class. */
export function commandsOf(root: React.ReactElement, run: jest.Mock): { [button: string]: unknown } {
  const ran: { [button: string]: unknown } = {};
  for (const button of elements(root).filter(element => element.type === 'button')) {
    run.mockClear();
    (button.props.onClick as () => void)();
    ran[String(button.props.className).split(' ').pop() as string] = run.mock.calls[0];
  }
  return ran;
}
