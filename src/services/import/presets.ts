/**
 * Known file layouts that import without pre-processing. A preset fixes the format, the mapping and the
 * rules for rows that are not plain purchases.
 */
import type { ColumnMapping } from './mapping.js';
import type { FileFormat } from './readers.js';

export interface Preset {
  name: string;
  description: string;
  kind: 'events' | 'orders' | 'customers';
  format?: FileFormat;
  columns?: string[];
  mapping: ColumnMapping;
  dateFormat?: string;
  /** Invoices whose id starts with this prefix are cancellations (returned goods) of earlier orders. */
  cancellationPrefix?: string;
  /** Each line is its own transaction, even when customer and date repeat (the BTYD convention). */
  linePerOrder?: boolean;
}

export const PRESETS: Readonly<Record<string, Preset>> = {
  'online-retail': {
    name: 'online-retail',
    description: 'A retailer\'s invoice-line export (UCI Online Retail layout): InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country; cancellations are invoices starting with C.',
    kind: 'orders',
    format: 'csv',
    mapping: {
      userId: 'CustomerID', orderId: 'InvoiceNo', timestamp: 'InvoiceDate', productId: 'StockCode', productName: 'Description',
      quantity: 'Quantity', price: 'UnitPrice', country: 'Country',
    },
    dateFormat: 'M/D/YYYY',
    cancellationPrefix: 'C',
  },
  cdnow: {
    name: 'cdnow',
    description: 'A whitespace-separated purchase log: customer id, date (YYYYMMDD), quantity, amount (the CDNOW layout of the BTYD literature); every line is one transaction.',
    kind: 'orders',
    format: 'whitespace',
    columns: ['customer_id', 'date', 'quantity', 'amount'],
    mapping: { userId: 'customer_id', timestamp: 'date', quantity: 'quantity', total: 'amount' },
    linePerOrder: true,
  },
};
