export interface LineItem {
  sku: string;
  quantity: number;
}

export interface Order {
  id: string;
  customer: { id: string; country: string; ordersPlaced: number };
  items: LineItem[];
  coupon?: string;
}

export type Outcome =
  | { status: 'confirmed'; orderId: string; total: number; paymentId: string }
  | { status: 'rejected'; orderId: string; reason: string };
